// Where a frame lands in a detector's network input, and back. Stretched:
// each axis its own scale (NanoDet, the Darknet YOLOs). Letterboxed: one
// scale that keeps the aspect, the content centred and the rest grey (114),
// what YOLOv5 and YOLOv8 are trained on; a model trained so loses boxes on a
// stretched input whose aspect differs from its training images'. Boxes the
// heads decode in input pixels map back to the frame through the same
// placement.
#pragma once

#include "base/types.hpp"

namespace weaver {

struct input_placement {
  float sx = 1, sy = 1; // input pixels per frame pixel
  int left = 0, top = 0; // where the frame's (0, 0) lands in the input
  int width = 0, height = 0; // the frame's size in the input

  /// The whole input, aspect not kept.
  static input_placement stretch(int frame_w, int frame_h, int input_w, int input_h);
  /// One scale, min(input_w / frame_w, input_h / frame_h); the content
  /// round(frame * scale) centred, the odd pixel of padding at the bottom or
  /// right (Ultralytics' letterbox: top = round(dh - 0.1)).
  static input_placement letterbox(int frame_w, int frame_h, int input_w, int input_h);

  /// Input pixels to frame pixels (not clipped).
  box to_frame(const box& b) const;
  /// Frame pixels to input pixels.
  box to_input(const box& b) const;
};

} // namespace weaver
