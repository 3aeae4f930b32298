#include "base/types.hpp"

#include <algorithm>
#include <cmath>

namespace weaver {

float iou(const box& a, const box& b) {
  float x1 = std::max(a.x, b.x), y1 = std::max(a.y, b.y);
  float x2 = std::min(a.x + a.w, b.x + b.w), y2 = std::min(a.y + a.h, b.y + b.h);
  float inter = std::max(0.f, x2 - x1) * std::max(0.f, y2 - y1);
  float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.f;
}

std::vector<int8_t> quantise_feature(const std::vector<float>& f) {
  float peak = 0;
  for (float v : f)
    if (std::isfinite(v)) peak = std::max(peak, std::fabs(v));
  std::vector<int8_t> q(f.size(), 0);
  if (peak <= 0) return q;
  for (size_t k = 0; k < f.size(); ++k)
    if (std::isfinite(f[k])) q[k] = static_cast<int8_t>(std::lround(std::clamp(f[k] / peak, -1.f, 1.f) * 127.f));
  return q;
}

std::vector<float> dequantise_feature(const std::vector<int8_t>& q) {
  std::vector<float> f(q.size());
  double norm = 0;
  for (size_t k = 0; k < q.size(); ++k) {
    f[k] = q[k];
    norm += double(q[k]) * q[k];
  }
  if (norm > 0)
    for (auto& v : f) v = static_cast<float>(v / std::sqrt(norm));
  return f;
}

} // namespace weaver
