#include "accel/detect/nms.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace weaver {

namespace {

std::vector<size_t> greedy(const std::vector<const box*>& boxes, const std::vector<float>& scores, float iou_threshold,
                           const std::vector<int32_t>* classes) {
  std::vector<size_t> order(boxes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<size_t> kept;
  for (size_t i : order) {
    bool keep = true;
    for (size_t k : kept) {
      if (classes && (*classes)[i] != (*classes)[k]) continue;
      if (iou(*boxes[i], *boxes[k]) > iou_threshold) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push_back(i);
  }
  return kept;
}

} // namespace

std::vector<size_t> nms_indices(const std::vector<box>& boxes, const std::vector<float>& scores, float iou_threshold) {
  if (boxes.size() != scores.size())
    throw std::invalid_argument("nms: " + std::to_string(boxes.size()) + " boxes but " + std::to_string(scores.size())
                                + " scores");
  std::vector<const box*> ptrs;
  ptrs.reserve(boxes.size());
  for (const auto& b : boxes) ptrs.push_back(&b);
  return greedy(ptrs, scores, iou_threshold, nullptr);
}

std::vector<detection> nms(const std::vector<detection>& dets, float iou_threshold) {
  std::vector<const box*> ptrs;
  std::vector<float> scores;
  std::vector<int32_t> classes;
  for (const auto& d : dets) {
    ptrs.push_back(&d.bbox);
    scores.push_back(d.score);
    classes.push_back(d.class_id);
  }
  std::vector<detection> out;
  for (size_t i : greedy(ptrs, scores, iou_threshold, &classes)) out.push_back(dets[i]);
  return out;
}

} // namespace weaver
