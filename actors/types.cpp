#include "actors/types.hpp"

#include <algorithm>

namespace weaver {

float iou(const box& a, const box& b) {
  float x1 = std::max(a.x, b.x), y1 = std::max(a.y, b.y);
  float x2 = std::min(a.x + a.w, b.x + b.w), y2 = std::min(a.y + a.h, b.y + b.h);
  float inter = std::max(0.f, x2 - x1) * std::max(0.f, y2 - y1);
  float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.f;
}

} // namespace weaver
