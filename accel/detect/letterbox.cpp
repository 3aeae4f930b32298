#include "accel/detect/letterbox.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace weaver {

namespace {

void require_sizes(int frame_w, int frame_h, int input_w, int input_h) {
  if (frame_w < 1 || frame_h < 1 || input_w < 1 || input_h < 1)
    throw std::invalid_argument("input placement: frame " + std::to_string(frame_w) + "x" + std::to_string(frame_h)
                                + " into input " + std::to_string(input_w) + "x" + std::to_string(input_h));
}

} // namespace

input_placement input_placement::stretch(int frame_w, int frame_h, int input_w, int input_h) {
  require_sizes(frame_w, frame_h, input_w, input_h);
  input_placement p;
  p.sx = static_cast<float>(input_w) / static_cast<float>(frame_w);
  p.sy = static_cast<float>(input_h) / static_cast<float>(frame_h);
  p.width = input_w;
  p.height = input_h;
  return p;
}

input_placement input_placement::letterbox(int frame_w, int frame_h, int input_w, int input_h) {
  require_sizes(frame_w, frame_h, input_w, input_h);
  const double r = std::min(static_cast<double>(input_w) / frame_w, static_cast<double>(input_h) / frame_h);
  input_placement p;
  p.sx = p.sy = static_cast<float>(r);
  p.width = std::clamp(static_cast<int>(std::lround(frame_w * r)), 1, input_w);
  p.height = std::clamp(static_cast<int>(std::lround(frame_h * r)), 1, input_h);
  // Half the padding before, the odd pixel after.
  p.left = static_cast<int>(std::lround((input_w - p.width) / 2.0 - 0.1));
  p.top = static_cast<int>(std::lround((input_h - p.height) / 2.0 - 0.1));
  return p;
}

box input_placement::to_frame(const box& b) const {
  return {(b.x - static_cast<float>(left)) / sx, (b.y - static_cast<float>(top)) / sy, b.w / sx, b.h / sy};
}

box input_placement::to_input(const box& b) const {
  return {b.x * sx + static_cast<float>(left), b.y * sy + static_cast<float>(top), b.w * sx, b.h * sy};
}

} // namespace weaver
