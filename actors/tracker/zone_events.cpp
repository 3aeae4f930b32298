#include "actors/tracker/zone_events.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace weaver {

const char* to_string(zone_event_kind k) {
  switch (k) {
    case zone_event_kind::enter:
      return "enter";
    case zone_event_kind::exit:
      return "exit";
    case zone_event_kind::cross_forward:
      return "cross_forward";
    case zone_event_kind::cross_backward:
      return "cross_backward";
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
  auto emit = [&](uint64_t track, const std::string& name, zone_event_kind k, timestamp_ms t,
                  timestamp_ms entered = 0) {
    out.push_back({camera_id_, track, name, k, t, entered});
  };
  for (const auto& e : b.events) {
    if (e.state == track_state::ended) {
      auto it = tracks_.find(e.track_id);
      if (it == tracks_.end()) continue;
      for (auto [z, since] : it->second.inside)
        emit(e.track_id, zones_[z].name, zone_event_kind::exit, e.time_ms, since);
      tracks_.erase(it);
      continue;
    }
    const point2 p = foot(e.bbox);
    auto [it, fresh] = tracks_.try_emplace(e.track_id, track_state_{p, e.time_ms, {}});
    auto& t = it->second;
    t.last_ms = e.time_ms;
    for (size_t z = 0; z < zones_.size(); ++z) {
      bool in = inside_polygon(zones_[z].polygon, p);
      auto was = t.inside.find(z);
      if (in && was == t.inside.end()) {
        t.inside.emplace(z, e.time_ms);
        emit(e.track_id, zones_[z].name, zone_event_kind::enter, e.time_ms);
      } else if (!in && was != t.inside.end()) {
        emit(e.track_id, zones_[z].name, zone_event_kind::exit, e.time_ms, was->second);
        t.inside.erase(was);
      }
    }
    if (!fresh)
      for (const auto& l : lines_)
        if (int c = crossing(l, t.last, p))
          emit(e.track_id, l.name, c > 0 ? zone_event_kind::cross_forward : zone_event_kind::cross_backward, e.time_ms);
    t.last = p;
  }
  return out;
}

std::vector<zone_event> zone_monitor::replace(std::vector<zone_def> zones, std::vector<line_def> lines) {
  std::vector<zone_event> out;
  for (auto& [id, t] : tracks_) {
    std::map<size_t, timestamp_ms> kept;
    for (const auto& [z, since] : t.inside) {
      // (A structured binding cannot be captured before C++20: the name is.)
      const std::string& name = zones_[z].name;
      auto now = std::find_if(zones.begin(), zones.end(), [&](const zone_def& d) { return d.name == name; });
      if (now != zones.end())
        kept.emplace(static_cast<size_t>(now - zones.begin()), since);
      else
        out.push_back({camera_id_, id, name, zone_event_kind::exit, std::max(t.last_ms, since), since});
    }
    t.inside = std::move(kept);
  }
  zones_ = std::move(zones);
  lines_ = std::move(lines);
  // With nothing to watch, update() stops following the tracks: a position
  // kept from now would be stale when shapes come back (a false crossing).
  if (empty()) tracks_.clear();
  return out;
}

std::string zone_monitor::snapshot() const {
  nlohmann::json tracks = nlohmann::json::array();
  for (const auto& [id, t] : tracks_) {
    nlohmann::json inside = nlohmann::json::object();
    for (auto [z, since] : t.inside) inside[zones_[z].name] = since;
    tracks.push_back({{"track", id}, {"x", t.last.x}, {"y", t.last.y}, {"t", t.last_ms}, {"inside", inside}});
  }
  return nlohmann::json{{"camera", camera_id_}, {"tracks", tracks}}.dump();
}

void zone_monitor::restore(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  std::map<uint64_t, track_state_> tracks;
  for (const auto& tj : j.at("tracks")) {
    track_state_ t;
    t.last = {tj.at("x").get<float>(), tj.at("y").get<float>()};
    t.last_ms = tj.value("t", timestamp_ms{0}); // absent in snapshots before runtime edits
    for (const auto& [name, since] : tj.at("inside").items())
      for (size_t z = 0; z < zones_.size(); ++z)
        if (zones_[z].name == name) t.inside.emplace(z, since.get<timestamp_ms>());
    tracks[tj.at("track").get<uint64_t>()] = std::move(t);
  }
  tracks_ = std::move(tracks);
}

} // namespace weaver
