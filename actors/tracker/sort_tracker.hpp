// SORT multi-object tracking for one camera: Kalman motion model, IoU cost,
// optimal assignment, track lifecycle. Pure algorithm, no CAF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/tracker/kalman_box.hpp"
#include "actors/tracker/track_record.hpp"
#include "base/types.hpp"

namespace weaver {

struct sort_config {
  float iou_threshold = 0.3f; // min IoU of prediction and detection to match
  int max_age = 5; // frames without match before a track ends
  int min_hits = 3; // consecutive matched frames to confirm a track
};

/// Tracks the detections of one camera. Feed it every detection batch of the
/// camera in frame order; it returns the track events of that frame.
///
/// Lifecycle: an unmatched detection opens a tentative track; a tentative
/// track is confirmed (event `started`, next camera-local id from 1) after
/// `min_hits` consecutive matched frames and vanishes silently on its first
/// miss. A confirmed track emits `updated` on every matched frame and `ended`
/// once it went more than `max_age` frames without a match.
///
/// Event fields: `started` carries time_ms / frame_seq of the track's FIRST
/// detection (so a presence interval covers the whole visit) with box, score
/// and feature of the confirming detection; `updated` the matched detection;
/// `ended` time_ms / frame_seq / box / score of the LAST matched detection and
/// the L2-normalised mean feature over all matched detections. Boxes are the
/// detector's, not the filter's. Events of one batch are sorted by track id.
/// Detections of different class_id never match one another.
/// Fully deterministic: equal input sequences give equal outputs.
class sort_tracker {
public:
  explicit sort_tracker(uint32_t camera_id, sort_config cfg = {});

  /// Processes one frame's detections (camera_id is not checked).
  track_batch update(const detection_batch& b);

  /// Ends every confirmed track and drops all tracks (end of stream); the
  /// batch has time `t` and the sequence number of the last frame seen.
  track_batch flush(timestamp_ms t);

  /// Confirmed tracks currently alive.
  size_t active() const;

  /// Tracks confirmed so far (= the last track id handed out).
  uint64_t tracks_started() const { return next_id_ - 1; }

  uint32_t camera_id() const { return camera_id_; }

  /// Every track (filter, counters, features) and the id counter, as JSON
  /// text, so a restarted tracker continues its tracks and ids; restore()
  /// takes what snapshot() gave (throws on a malformed text, state unchanged).
  std::string snapshot() const;
  void restore(const std::string& text);

private:
  struct track : track_record {
    explicit track(const box& b) : filter(b) {}
    kalman_box filter;
  };

  uint32_t camera_id_;
  sort_config cfg_;
  std::vector<track> tracks_; // in creation order
  uint64_t next_id_ = 1;
  uint64_t last_seq_ = 0;
};

} // namespace weaver
