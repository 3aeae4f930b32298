// Deep SORT multi-object tracking for one camera (Wojke, Bewley, Paulus 2017,
// "Simple online and realtime tracking with a deep association metric"):
// Kalman motion model with Mahalanobis gating, a matching cascade on
// appearance by track age, IoU matching for the rest. Pure algorithm, no CAF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/tracker/kalman_xyah.hpp"
#include "actors/tracker/track_record.hpp"
#include "base/types.hpp"

namespace weaver {

// Defaults: the paper's and its reference implementation's values, except
// where PETS09-S2L1 (public Faster R-CNN detections, hand-crafted appearance
// from the video, `weaver track` + `weaver eval mot`) said otherwise; the
// figures are in tests/integration/track_cli.sh.
struct deep_sort_config {
  /// Largest cosine distance (1 - cosine similarity) between a detection and
  /// the nearest feature of a track's gallery to match them in the cascade:
  /// the paper's 0.2. With the hand-crafted descriptor one person's crops a
  /// few frames apart lie within 0.11 of each other (95th percentile on
  /// PETS09) and two people in the same frame 0.24 apart (median); 0.1-0.2
  /// scored alike there.
  float max_cosine_distance = 0.2f;
  /// Features kept per track (its last `budget` matched detections): the
  /// paper's 100; 5-100 scored alike on PETS09, 1 worse.
  int budget = 100;
  /// Largest 1 - IoU of prediction and detection in the IoU stage (paper and
  /// reference: 0.7, i.e. IoU >= 0.3, the same gate as SORT).
  float max_iou_distance = 0.7f;
  /// Gate on the squared Mahalanobis distance of a detection from a track's
  /// predicted measurement: the chi-square 0.95 quantile with 4 degrees of
  /// freedom (cx, cy, a, h), as in the paper.
  double gating_threshold = chi2inv95[4];
  /// Weight of the (gate-normalised) motion distance in the cascade cost
  /// lambda * d_mahalanobis / gating_threshold + (1 - lambda) * d_cosine;
  /// a pair must pass both gates whatever lambda. The paper's 0 (motion only
  /// gates) was also best on PETS09 (IDF1 -0.03 at 0.1, -0.08 at 0.5).
  float lambda = 0.0f;
  /// Largest cosine distance in the cascade for a track not matched in the
  /// last frame (a re-acquisition): where two people cross, the one hidden
  /// behind the other is missed for a few frames while its Mahalanobis gate
  /// grows, and the nearest of 100 crops is lax enough for the other person
  /// to take its track over (on PETS09 with the public detections, most ID
  /// switches after a miss came at distances 0.06-0.19). Tracklet repair
  /// joins one person's pieces afterwards with both fragments' velocities
  /// and mean appearances, so the tracker can be strict here. 0.07 was best
  /// of 0.05-0.2 on frames 1-397 of PETS09-S2L1 (README, "Measured");
  /// >= max_cosine_distance: no separate gate.
  float reacquire_cosine_distance = 0.07f;
  /// Consecutive matched frames to confirm a track (paper and SORT: 3); a
  /// tentative track ends silently at its first miss. 4 on PETS09 cut ID
  /// switches by a fifth (IDF1 +0.03): the detector there sometimes puts a
  /// third box between two people walking side by side. At 10 fps it delays
  /// a track's `started` event by 0.1 s more, its start time not at all.
  int n_init = 4;
  /// Frames without a match before a confirmed track ends. The paper's 30
  /// is 1 s at MOT16's 30 fps; Weaver's cameras run at ~10 fps, so 10 (1 s).
  /// On PETS09 10-15 was best; 30 lost 0.03 IDF1 (with a weak descriptor a
  /// long memory brings back wrong identities), 5 lost 0.10.
  int max_age = 10;
  /// Kalman noise, standard deviations as fractions of the box height
  /// (kalman_xyah): the reference design's 1/20 (position); velocity 1/200,
  /// stiffer than its 1/160. People here walk steadily; a stiffer velocity
  /// widens a missed track's gate more slowly and lets a box covering two
  /// people bend the track less towards the other one. Frames 1-397 of
  /// PETS09-S2L1 (public detections, repair on), IDF1: 1/160 0.736, 1/180
  /// 0.737, 1/200 and 1/220 0.766, 1/250 0.763, 1/285 0.759, 1/333 0.654,
  /// 1/500 0.670: rugged, so the gain is fragile (README, "Measured").
  double noise_position = 1.0 / 20;
  double noise_velocity = 1.0 / 200;
  /// Associate on `detection.embedding` (the detector's pooled backbone
  /// activations) when it is non-empty; when false or empty, on
  /// `detection.feature` (the hand-crafted descriptor). Off by default: the
  /// backbone was not trained for re-identification and the thresholds above
  /// were set on the hand-crafted descriptor.
  bool use_embedding = false;
};

/// Tracks the detections of one camera with Deep SORT. Same contract as
/// `sort_tracker` (see sort_tracker.hpp), so either can serve the tracker
/// actor: feed every detection batch of the camera in frame order (also
/// frames without detections); it returns that frame's track events.
///
/// Lifecycle: an unmatched detection opens a tentative track; a tentative
/// track is confirmed (event `started`, next camera-local id from 1) after
/// `n_init` consecutive matched frames and vanishes silently on its first
/// miss. A confirmed track emits `updated` on every matched frame and `ended`
/// once it went more than `max_age` frames without a match.
///
/// Association per frame: every track is predicted one frame. (1) Matching
/// cascade over the confirmed tracks, those missed for 1 frame first, then 2,
/// ... : cost = cosine distance of the detection's feature to the nearest of
/// the track's last `budget` features (blended with the motion distance by
/// `lambda`), infeasible above `max_cosine_distance`, beyond the Mahalanobis
/// gate, or across classes; each level is an optimal assignment among the
/// detections still free. A pair without appearance on either side (empty or
/// zero feature, or features of different lengths) costs its squared
/// Mahalanobis distance over the gate, so without any features the cascade
/// still matches by motion. (2) IoU
/// matching (1 - IoU <= max_iou_distance) of the remaining detections with
/// the tentative tracks and the confirmed ones missed for just this frame.
///
/// Event fields as in sort_tracker: `started` carries time_ms / frame_seq of
/// the track's FIRST detection with box, score and `feature` of the
/// confirming detection; `updated` the matched detection; `ended`
/// time_ms / frame_seq / box / score of the LAST matched detection and the
/// L2-normalised mean of `detection.feature` over all matched detections.
/// Boxes are the detector's, not the filter's. Events of one batch are sorted
/// by track id. Fully deterministic: equal input sequences give equal outputs.
class deep_sort {
public:
  explicit deep_sort(uint32_t camera_id, deep_sort_config cfg = {});

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
  const deep_sort_config& config() const { return cfg_; }

  /// The Kalman filter's box of a live confirmed track (after this frame's
  /// update when it was matched), for output that prefers the smoothed box
  /// to the detector's; nullopt for an unknown id.
  std::optional<box> estimate(uint64_t track_id) const;

private:
  struct track : track_record { // misses: counted after predict
    track(const box& b, kalman_xyah::noise n) : filter(b, n) {}
    kalman_xyah filter;
    // Appearance gallery: a ring of up to `budget` unit vectors of length
    // `dim`, row-major; `stored` rows are valid, `next` is overwritten next.
    std::vector<float> gallery;
    size_t dim = 0, stored = 0, next = 0;
  };

  void observe(track& t, const detection& d, const std::vector<float>& unit, const detection_batch& b);
  void remember(track& t, const std::vector<float>& unit);
  float appearance_distance(const track& t, const std::vector<float>& unit) const;

  uint32_t camera_id_;
  deep_sort_config cfg_;
  std::vector<track> tracks_; // in creation order
  uint64_t next_id_ = 1;
  uint64_t last_seq_ = 0;
};

} // namespace weaver
