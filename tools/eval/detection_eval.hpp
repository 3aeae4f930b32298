// Detection quality against MOT-format ground truth: recall and precision
// at an IoU threshold. Pure; used by tools/eval_detector and the tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/types.hpp"

namespace weaver {

struct gt_box {
  box b;
  bool consider = true; // MOT's flag: 0 = ignore (neither hit nor miss)
  int id = 0; // the person's ground-truth identity
};

/// MOT gt.txt (frame,id,x,y,w,h,consider,...) by 0-based video frame
/// (MOT frame n = video frame n-1). Throws std::runtime_error when unreadable.
std::map<int, std::vector<gt_box>> load_mot_gt(const std::string& path);

struct detection_tally {
  long tp = 0, fp = 0, positives = 0;
  double recall() const { return positives ? double(tp) / double(positives) : 0; }
  double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 0; }
};

/// Greedy one-to-one matching by descending IoU (>= min_iou). Detections
/// matching an ignored person count neither way.
void score_detections(const std::vector<detection>& dets, const std::vector<gt_box>& gt, float min_iou,
                      detection_tally& t);

} // namespace weaver
