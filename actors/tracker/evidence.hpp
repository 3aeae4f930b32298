// Evidence crops: for each camera-local track, the picture of the person in
// its best frame (the largest visible box, weighted by detection score), cut
// out of the frame with a margin and scaled to a small thumbnail, so a user
// can see with their own eyes who each presence was (and spot a re-id
// mistake). Candidates are kept as small images while the track lives; when
// the track ends, its best one is JPEG-encoded once. Pure: frames come from
// the caller (actors/live_view keeps the recent ones).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "base/types.hpp"

namespace weaver {

class evidence_picker {
public:
  /// Thumbnails `height` pixels high (width from the box, at most height).
  explicit evidence_picker(int height = 128, int jpeg_quality = 80);

  /// One frame's track events. `frame_of(camera, seq)` gives the frame an
  /// event's box belongs to, or null when it is no longer kept (the box is
  /// then not a candidate). Returns the crops of the tracks that ended.
  std::vector<evidence_crop> update(const track_batch& b,
                                    const std::function<frame_ptr(uint32_t camera, uint64_t seq)>& frame_of);

  /// Tracks with a candidate now.
  size_t open() const { return best_.size(); }

  /// How good a box of an image of `width` x `height` is as evidence: its
  /// visible area times its score (a score of 0, not reported, counts 1).
  static double quality(const box& b, float score, int width, int height);

private:
  struct candidate {
    double quality = -1;
    timestamp_ms time_ms = 0;
    cv::Mat thumb;
  };
  int height_, quality_;
  std::map<std::pair<uint32_t, uint64_t>, candidate> best_;
};

} // namespace weaver
