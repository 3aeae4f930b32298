#include "actors/tracker/zone_events.hpp"

namespace weaver {

const char* to_string(zone_event_kind k) {
  switch (k) {
    case zone_event_kind::enter: return "enter";
    case zone_event_kind::exit: return "exit";
    case zone_event_kind::cross_forward: return "cross_forward";
    case zone_event_kind::cross_backward: return "cross_backward";
  }
  return "?";
}

bool inside_polygon(const std::vector<point2>& poly, point2 p) {
  bool in = false;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    const auto& a = poly[i];
    const auto& b = poly[j];
    // Half-open in y, so a vertex on the ray is counted once.
    if ((a.y > p.y) != (b.y > p.y)) {
      float x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
      if (p.x < x) in = !in;
    }
  }
  return in;
}

namespace {

float side(const point2& a, const point2& b, const point2& p) {
  return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
}

// +1 / -1 when the step p -> q crosses segment a-b (direction by the side q
// ends on), 0 otherwise. Touching without passing through does not count.
int crossing(const line_def& l, point2 p, point2 q) {
  float sp = side(l.a, l.b, p), sq = side(l.a, l.b, q);
  if ((sp > 0) == (sq > 0) || sp == 0) return 0;
  float ta = side(p, q, l.a), tb = side(p, q, l.b);
  if ((ta > 0) == (tb > 0) && ta != 0 && tb != 0) return 0;
  // Image y points down: positive side() is the right of a -> b.
  return sq > 0 ? 1 : -1;
}

point2 foot(const box& b) { return {b.x + b.w / 2, b.y + b.h}; }

} // namespace

zone_monitor::zone_monitor(uint32_t camera_id, std::vector<zone_def> zones, std::vector<line_def> lines)
  : camera_id_(camera_id), zones_(std::move(zones)), lines_(std::move(lines)) {}

std::vector<zone_event> zone_monitor::update(const track_batch& b) {
  std::vector<zone_event> out;
  if (empty()) return out;
  auto emit = [&](uint64_t track, const std::string& name, zone_event_kind k, timestamp_ms t) {
    out.push_back({camera_id_, track, name, k, t});
  };
  for (const auto& e : b.events) {
    if (e.state == track_state::ended) {
      auto it = tracks_.find(e.track_id);
      if (it == tracks_.end()) continue;
      for (size_t z : it->second.inside) emit(e.track_id, zones_[z].name, zone_event_kind::exit, e.time_ms);
      tracks_.erase(it);
      continue;
    }
    const point2 p = foot(e.bbox);
    auto [it, fresh] = tracks_.try_emplace(e.track_id, track_state_{p, {}});
    auto& t = it->second;
    for (size_t z = 0; z < zones_.size(); ++z) {
      bool in = inside_polygon(zones_[z].polygon, p);
      bool was = t.inside.count(z) > 0;
      if (in && !was) {
        t.inside.insert(z);
        emit(e.track_id, zones_[z].name, zone_event_kind::enter, e.time_ms);
      } else if (!in && was) {
        t.inside.erase(z);
        emit(e.track_id, zones_[z].name, zone_event_kind::exit, e.time_ms);
      }
    }
    if (!fresh)
      for (const auto& l : lines_)
        if (int c = crossing(l, t.last, p))
          emit(e.track_id, l.name, c > 0 ? zone_event_kind::cross_forward : zone_event_kind::cross_backward,
               e.time_ms);
    t.last = p;
  }
  return out;
}

} // namespace weaver
