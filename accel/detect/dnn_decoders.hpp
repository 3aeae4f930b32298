// Decoders from detector heads to boxes, pure functions on output tensors.
// Boxes are in the network input's pixels; dnn_detector maps them back to
// the source image.
#pragma once

#include <vector>

#include "base/types.hpp"

namespace weaver {

struct raw_box {
  box bbox; // network input pixels
  float score = 0;
  int class_id = 0;
};

/// One NanoDet (GFL) level: `cls` [cells, classes] scores after sigmoid,
/// `reg` [cells, 4 * bins] distribution logits per side (left, top, right,
/// bottom), side-major. The distance per side is the softmax expectation
/// over 0..bins-1, in units of `stride`, from the cell's point (x + offset,
/// y + offset) * stride. Keeps (cell, class) pairs scoring >= `threshold`,
/// of class `only_class` when >= 0.
std::vector<raw_box> decode_nanodet(const float* cls, const float* reg, int grid_h, int grid_w, int stride, int classes,
                                    int bins, float threshold, int only_class = -1, float offset = 0.0f);

/// One Darknet head after yolo_head activations, NHWC [grid_h, grid_w,
/// anchors * (5 + classes)]. version 2 (region): anchors in grid cells;
/// version 3 (yolo): anchors in input pixels. Score = objectness x class
/// probability.
std::vector<raw_box> decode_yolo(const float* head, int grid_h, int grid_w, const std::vector<float>& anchors,
                                 int classes, int version, int input_w, int input_h, float threshold,
                                 int only_class = -1);

/// A YOLOv5-style export's decoded output, [points, 5 + classes] row per
/// anchor point: centre x, centre y, width, height in input pixels (the
/// graph did the grid * stride arithmetic), objectness, class scores (after
/// the sigmoid). Score = objectness x class score.
std::vector<raw_box> decode_yolov5(const float* out, int points, int classes, float threshold, int only_class = -1);

/// A YOLOv8-style export's output, [4 + classes, points] channel-major
/// (the transpose of v5's, and no objectness): centre x, centre y, width,
/// height in input pixels, then the class scores.
std::vector<raw_box> decode_yolov8(const float* out, int points, int classes, float threshold, int only_class = -1);

} // namespace weaver
