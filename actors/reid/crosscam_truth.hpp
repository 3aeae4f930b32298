// The true presence intervals of ground-truth people on virtual cameras
// (crops of one video), for measuring cross-camera answers: a person is on a
// camera while the centre of their ground-truth box lies inside its crop.
// Pure algorithm, no CAF.
#pragma once

#include <map>
#include <vector>

#include "actors/detector/detection_eval.hpp"
#include "actors/types.hpp"

namespace weaver {

struct virtual_camera {
  uint32_t id = 0;
  box crop;                      // in source pixels
  timestamp_ms start_ms = 0;     // capture time of frame 0
  double fps = 10;
};

/// Presence rows (person id = ground-truth id) per camera: runs of frames
/// with the box centre inside the crop, joined across gaps of at most
/// `max_gap_frames` (short occlusions, missing annotation), dropped when
/// shorter than `min_frames`. Boxes with consider = 0 are skipped. Rows are
/// sorted by (person, camera, enter).
std::vector<presence> true_presence(const std::map<int, std::vector<gt_box>>& gt,
                                    const std::vector<virtual_camera>& cameras,
                                    int max_gap_frames = 10, int min_frames = 3);

} // namespace weaver
