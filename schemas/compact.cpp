#include "schemas/compact.hpp"

#include <cmath>

namespace weaver::compact {

namespace {

float largest_magnitude(const std::vector<float>& v, bool& finite) {
  float m = 0;
  finite = true;
  for (float x : v) {
    if (!std::isfinite(x)) finite = false;
    m = std::max(m, std::fabs(x));
  }
  return m;
}

// The smallest exponent with max / 2^exp <= 127 (0 for an all-zero vector).
int step_exponent(float max) {
  if (max == 0) return 0;
  int e = std::ilogb(max / 127.f);
  while (std::ldexp(max, -e) > 127.f) ++e;
  while (std::ldexp(max, -(e - 1)) <= 127.f) --e;
  return e;
}

} // namespace

std::optional<int8_feature> exact_int8(const std::vector<float>& v) {
  bool finite = true;
  const float max = largest_magnitude(v, finite);
  if (!finite) return std::nullopt;
  int8_feature out;
  out.exp = step_exponent(max);
  if (out.exp < min_exp || out.exp > max_exp) return std::nullopt;
  out.q.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const float t = std::ldexp(v[i], -out.exp);
    if (t != std::nearbyint(t) || std::fabs(t) > 127.f) return std::nullopt;
    out.q[i] = static_cast<int8_t>(t);
  }
  return out;
}

std::vector<float> to_int8_grid(const std::vector<float>& v) {
  bool finite = true;
  const float max = largest_magnitude(v, finite);
  const int e = step_exponent(max);
  if (!finite || e < min_exp || e > max_exp) return v;
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const float q = std::min(127.f, std::max(-127.f, std::nearbyint(std::ldexp(v[i], -e))));
    out[i] = std::ldexp(q, e);
  }
  return out;
}

std::vector<float> from_int8(const int8_t* q, size_t n, int exp) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = std::ldexp(static_cast<float>(q[i]), exp);
  return out;
}

std::optional<std::array<int16_t, 4>> exact_quarter_pixels(const box& b) {
  std::array<int16_t, 4> out{};
  const float v[4] = {b.x, b.y, b.w, b.h};
  for (int i = 0; i < 4; ++i) {
    const float t = v[i] * box_steps_per_px; // exact: a power of two
    if (!std::isfinite(t) || t != std::nearbyint(t) || t < -32768.f || t > 32767.f) return std::nullopt;
    out[i] = static_cast<int16_t>(t);
  }
  return out;
}

box to_quarter_pixels(const box& b) {
  box out;
  float* dst[4] = {&out.x, &out.y, &out.w, &out.h};
  const float v[4] = {b.x, b.y, b.w, b.h};
  for (int i = 0; i < 4; ++i) {
    const float t = std::nearbyint(v[i] * box_steps_per_px);
    if (!std::isfinite(t) || t < -32768.f || t > 32767.f) return b;
    *dst[i] = t / box_steps_per_px;
  }
  return out;
}

box from_quarter_pixels(const std::array<int16_t, 4>& q) {
  return box{q[0] / box_steps_per_px, q[1] / box_steps_per_px, q[2] / box_steps_per_px, q[3] / box_steps_per_px};
}

void compact_for_link(detection_batch& b, appearance used) {
  for (auto& d : b.detections) {
    // The tracker with dnn appearance falls back to the descriptor when a
    // detection has no embedding (tracker_actor): keep it then.
    if (used == appearance::dnn && !d.embedding.empty())
      d.feature.clear();
    else
      d.embedding.clear();
    d.feature = to_int8_grid(d.feature);
    d.embedding = to_int8_grid(d.embedding);
    // Boxes stay exact: the tracker's IoU and zone tests see them, and on
    // the demo quarter pixels split one zone visit at a polygon's edge
    // (they still go as QBox when a detector's boxes are on the grid).
  }
}

void compact_for_link(track_batch& b, bool update_features) {
  for (auto& e : b.events) {
    if (e.state == track_state::ended || update_features)
      e.feature = to_int8_grid(e.feature);
    else
      e.feature.clear();
    e.bbox = to_quarter_pixels(e.bbox);
    e.score = 0; // re-id does not read it (0 is not written)
  }
}

void thin_update_features(track_batch& b, std::map<uint64_t, timestamp_ms>& kept, int64_t every_ms) {
  for (auto& e : b.events) {
    if (e.state == track_state::ended) {
      kept.erase(e.track_id);
      continue;
    }
    if (e.feature.empty()) continue;
    auto [it, fresh] = kept.try_emplace(e.track_id, e.time_ms);
    if (fresh || e.time_ms - it->second >= every_ms)
      it->second = e.time_ms;
    else
      e.feature.clear();
  }
}

} // namespace weaver::compact
