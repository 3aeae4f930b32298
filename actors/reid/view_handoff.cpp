#include "actors/reid/view_handoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace weaver {

namespace {

using mat3 = std::array<double, 9>;

struct point2 {
  double x = 0, y = 0;
};

point2 apply(const mat3& h, point2 p) {
  const double w = h[6] * p.x + h[7] * p.y + h[8];
  if (std::abs(w) < 1e-12) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  return {(h[0] * p.x + h[1] * p.y + h[2]) / w, (h[3] * p.x + h[4] * p.y + h[5]) / w};
}

// The inverse of a 3x3 matrix (adjugate over determinant); identity when singular
// (config validation rejects degenerate warps before they get here).
mat3 inverse(const mat3& m) {
  const double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
  const double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (std::abs(det) < 1e-12) return {1, 0, 0, 0, 1, 0, 0, 0, 1};
  return {(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det,
          (f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det,
          (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det};
}

bool inside(const view_geometry& v, point2 q) {
  return q.x >= 0 && q.x < v.width && q.y >= 0 && q.y < v.height; // false for NaN
}

} // namespace

view_geometry crop_view(uint32_t camera_id, std::string source, int x, int y, int width, int height) {
  view_geometry v;
  v.camera_id = camera_id;
  v.source = std::move(source);
  v.width = width;
  v.height = height;
  v.to_view = {1, 0, double(-x), 0, 1, double(-y), 0, 0, 1};
  return v;
}

view_handoff::view_handoff(handoff_config cfg) : cfg_(std::move(cfg)) {
  // Handed track ids hold the origin camera in 24 bits: larger ids get no handoff.
  cfg_.views.erase(std::remove_if(cfg_.views.begin(), cfg_.views.end(),
                                  [](const view_geometry& v) { return v.camera_id >= (1u << 24); }),
                   cfg_.views.end());
  for (size_t k = 0; k < cfg_.views.size(); ++k) {
    index_[cfg_.views[k].camera_id] = k;
    to_source_.push_back(inverse(cfg_.views[k].to_view));
  }
  // Two views overlap when a point of one maps inside the other: a grid of
  // each view's pixels (edges included) through the source into the other
  // finds any overlap wider than a grid cell (1/32 of the view) either way.
  constexpr int n = 32;
  auto sees_into = [](const view_geometry& a, const mat3& a_to_source, const view_geometry& b) {
    for (int i = 0; i <= n; ++i)
      for (int j = 0; j <= n; ++j) {
        // Just inside the far edges: the view is [0, width) x [0, height).
        const point2 p{std::min(a.width * double(i) / n, a.width - 0.5),
                       std::min(a.height * double(j) / n, a.height - 0.5)};
        if (inside(b, apply(b.to_view, apply(a_to_source, p)))) return true;
      }
    return false;
  };
  for (size_t i = 0; i < cfg_.views.size(); ++i)
    for (size_t j = 0; j < cfg_.views.size(); ++j) {
      const auto &a = cfg_.views[i], &b = cfg_.views[j];
      if (a.camera_id < b.camera_id && a.source == b.source
          && (sees_into(a, to_source_[i], b) || sees_into(b, to_source_[j], a)))
        overlaps_.insert({a.camera_id, b.camera_id});
    }
}

bool view_handoff::overlap(uint32_t a, uint32_t b) const {
  return overlaps_.count({std::min(a, b), std::max(a, b)}) > 0;
}

bool view_handoff::knows(uint32_t camera_id) const { return index_.count(camera_id) > 0; }

std::optional<double> view_handoff::apart(uint32_t ca, const box& a, uint32_t cb, const box& b) const {
  auto ia = index_.find(ca), ib = index_.find(cb);
  if (ia == index_.end() || ib == index_.end()) return std::nullopt;
  if (cfg_.views[ia->second].source != cfg_.views[ib->second].source) return std::nullopt;
  // Foot and head of each box in source pixels (a warp changes the scale).
  auto in_source = [](const mat3& to_source, const box& x) {
    const double cx = x.x + x.w / 2.0;
    return std::make_pair(apply(to_source, {cx, double(x.y) + x.h}), apply(to_source, {cx, double(x.y)}));
  };
  const auto [fa, ha] = in_source(to_source_[ia->second], a);
  const auto [fb, hb] = in_source(to_source_[ib->second], b);
  const double height = std::max(std::hypot(fa.x - ha.x, fa.y - ha.y), std::hypot(fb.x - hb.x, fb.y - hb.y));
  const double d = std::hypot(fa.x - fb.x, fa.y - fb.y);
  if (!std::isfinite(d) || !std::isfinite(height) || height <= 0) return std::nullopt;
  return d / height;
}

bool view_handoff::out_of_reach(uint32_t ca, const box& a, timestamp_ms ta, uint32_t cb, const box& b, timestamp_ms tb,
                                float speed) const {
  if (speed <= 0) return false;
  // b seen before a was last seen (the two overlap in time) is bound too: a
  // person leaving the scene at its far left is not entering it at its far
  // right a moment earlier. There either box may be cut by its view's edge
  // (a cut box stands at most a body height off), so two heights of slack.
  auto d = apart(ca, a, cb, b);
  const double slack = tb >= ta ? 1.0 : 2.0;
  return d && *d > slack + speed * static_cast<double>(std::abs(tb - ta)) / 1000.0;
}

std::vector<foot_span> view_handoff::feet(uint32_t camera_id, const std::vector<timed_box>& boxes) const {
  auto it = index_.find(camera_id);
  if (it == index_.end() || boxes.empty()) return {};
  const auto& own = cfg_.views[it->second];
  const mat3& to_source = to_source_[it->second];
  const float bottom = static_cast<float>(own.height) * (1.0f - cfg_.cut_margin);
  const float top = static_cast<float>(own.height) * cfg_.cut_margin;
  auto cut = [&](const box& b) { return b.y + b.h >= bottom; };
  // Whole bodies (cut at neither edge): their heights, for the cut ones.
  std::vector<const timed_box*> whole;
  for (const auto& tb : boxes)
    if (!cut(tb.b) && tb.b.y > top) whole.push_back(&tb);
  // Per camera its stays; away_from: for a camera the foot has left, the
  // time of its last sample there (samples come in time order).
  std::map<uint32_t, std::vector<foot_span>> spans;
  std::map<uint32_t, timestamp_ms> away_from;
  std::set<uint32_t> here_now;
  auto add = [&](uint32_t cam, timestamp_ms t, point2 foot, float h) {
    here_now.insert(cam);
    auto& stays = spans[cam];
    auto a = away_from.find(cam);
    const bool back = a != away_from.end() && t - a->second >= cfg_.split_ms;
    if (stays.empty() || (back && stays.size() < max_stays)) stays.push_back(foot_span{cam, t, t, {}});
    if (a != away_from.end()) away_from.erase(a);
    auto& s = stays.back();
    s.to = std::max(s.to, t);
    s.from = std::min(s.from, t);
    s.path.push_back({t, {static_cast<float>(foot.x), static_cast<float>(foot.y)}, h});
  };
  // After each box: a camera with a stay that this box's foot is not on is
  // left (from the time of its last sample there).
  auto left = [&]() {
    for (const auto& [cam, stays] : spans)
      if (!here_now.count(cam) && !away_from.count(cam)) away_from[cam] = stays.back().to;
    here_now.clear();
  };
  auto place = [&](const timed_box& tb) {
    const box& b = tb.b;
    double height = b.h;
    if (!cut(b) && !cfg_.whole_bodies) {
      add(camera_id, tb.t, {b.x + b.w / 2.0, b.y + b.h}, b.h);
      return;
    }
    if (cut(b)) {
      // The nearest whole box in time (the earlier on a tie): the person's
      // size changes with where they stand, so the nearest is the best guess
      // of it. `whole` is in time order: a binary search, not a scan.
      auto by_time = [](const timed_box* w, timestamp_ms t) { return w->t < t; };
      const timed_box* near = nullptr;
      auto later = std::lower_bound(whole.begin(), whole.end(), tb.t, by_time);
      if (later != whole.begin()) near = *std::lower_bound(whole.begin(), later, (*(later - 1))->t, by_time);
      if (later != whole.end() && (!near || (*later)->t - tb.t < tb.t - near->t)) near = *later;
      const double est = near ? near->b.h : (cfg_.aspect > 0 ? b.w / cfg_.aspect : b.h);
      height = std::max<double>(b.h, est);
    }
    const point2 foot{b.x + b.w / 2.0, b.y + height};
    const point2 head{foot.x, b.y};
    const point2 src = apply(to_source, foot), src_head = apply(to_source, head);
    bool somewhere = false;
    for (const auto& v : cfg_.views) {
      if (v.source != own.source) continue;
      const point2 q = apply(v.to_view, src);
      if (!inside(v, q)) continue;
      const point2 qh = apply(v.to_view, src_head);
      add(v.camera_id, tb.t, q, static_cast<float>(std::abs(q.y - qh.y)));
      somewhere = true;
    }
    if (!somewhere) add(camera_id, tb.t, foot, static_cast<float>(height));
  };
  for (const auto& tb : boxes) {
    place(tb);
    left();
  }
  std::vector<foot_span> out;
  for (auto& [cam, stays] : spans)
    for (auto& s : stays) out.push_back(std::move(s));
  return out;
}

uint64_t handed_track_id(uint32_t origin_camera, uint64_t origin_track, unsigned span) {
  return (uint64_t{1} << 62) | (uint64_t{std::min<unsigned>(span, max_stays - 1)} << 56)
    | (uint64_t{origin_camera & 0xffffffu} << 32) | (origin_track & 0xffffffffu);
}

std::optional<std::pair<uint32_t, uint64_t>> handed_origin(uint64_t track_id) {
  if (!(track_id & (uint64_t{1} << 62))) return std::nullopt;
  return std::make_pair(static_cast<uint32_t>((track_id >> 32) & 0xffffffu), track_id & 0xffffffffu);
}

} // namespace weaver
