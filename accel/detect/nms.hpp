// Greedy non-maximum suppression on weaver::box (libopencv-dnn's NMSBoxes is
// not among the OpenCV components Weaver links).
#pragma once

#include <cstddef>
#include <vector>

#include "base/types.hpp"

namespace weaver {

/// Indices of the boxes kept, best score first: a box is dropped when its
/// IoU with an already kept box exceeds `iou_threshold`. Ties keep the
/// lower index, so the result is deterministic. `scores` matches `boxes`.
std::vector<size_t> nms_indices(const std::vector<box>& boxes, const std::vector<float>& scores, float iou_threshold);

/// The detections nms_indices keeps, best first; boxes of different
/// class_id never suppress each other.
std::vector<detection> nms(const std::vector<detection>& dets, float iou_threshold);

} // namespace weaver
