// Tracklet repair inside one camera: a tracker loses a person for a few
// frames (occlusion, a missed detection, a jump its motion model did not
// expect) and starts a new track when they reappear. This joins such a new
// track to the fragment that ended shortly before where the new one began
// (position and velocity meeting in the gap, time, size, appearance), so the
// person leaves the camera's tracker under one id and re-id sees one piece
// instead of several; and it fills the frames the tracker missed (inside a
// track, across a joined gap, the frames before a track was confirmed) with
// interpolated boxes for the MOT output. Pure, streaming, no CAF.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/types.hpp"

namespace weaver {

// Tuned on PETS09-S2L1 (public Faster R-CNN detections with Deep SORT, and
// NanoDet's with SORT; README, "Measured"), checked on no other sequence
// with ground truth.
struct tracklet_repair_config {
  /// Longest gap joined: from a fragment's last box to the first detection
  /// of the track continuing it. Also how long a fragment's `ended` event is
  /// held back after its last box, waiting for a continuation.
  int64_t max_gap_ms = 2000;
  /// Boxes of a new track (the confirming one and its updates) before it is
  /// judged, so its own velocity is known; it is judged earlier if it ends.
  int min_boxes = 3;
  /// Position mismatch allowed where the two fragments meet (the ended one
  /// run forward and the new one run back, each at its own velocity, to the
  /// middle of the gap), in mean box heights: `residual` plus
  /// `residual_per_s` per second of gap.
  double residual = 0.5;
  double residual_per_s = 0.5;
  /// The fragments' velocities (when each has two boxes or more) differ by
  /// at most this many mean box heights per second: a person does not turn
  /// back or double their pace unseen within a short gap.
  double max_velocity_change = 1.5;
  /// A fragment whose last box comes this close to the frame's border (in
  /// its own widths; frame size from set_frame) left the view: it is continued by
  /// no track (whoever comes back is re-id's to recognise), so its `ended`
  /// is not held back; neither is a track continued whose meeting point
  /// lies outside the frame.
  float border_margin = 0.5f;
  /// Heights of the two fragments' boxes differ by at most this factor.
  double max_height_ratio = 1.5;
  /// Cosine similarity of the fragments' mean appearances (when both have
  /// one) at least this; and its shortfall from 1, times
  /// `appearance_weight`, adds to the cost that ranks the candidates. 0.9,
  /// re-id's threshold for same-camera pieces: at 0.6 it never bound (the
  /// hand-crafted descriptor gives different people of a crowd 0.80-0.93)
  /// and repair joined people crossing in narrow views (README).
  float min_similarity = 0.9f;
  double appearance_weight = 2.0;
  /// Write interpolated boxes for missed frames (gaps of at most
  /// `max_fill_frames`).
  bool fill = true;
  int max_fill_frames = 30;
  /// Also fill a new track's frames before its confirmation with its
  /// confirming box: off, 2 of 3 such boxes missed the truth on PETS09
  /// (extrapolating them back at the track's velocity did not help either).
  bool backfill = false;
  /// With `fill`, boxes of the MOT output (`repair_step::boxes`, not the events) are the
  /// mean of the track's boxes within this many frames either side, a
  /// centred moving average: a detector's box jitters around the person by
  /// a tenth of its width frame to frame, a walk is nearly straight over
  /// 0.7 s, so the mean sits closer to the person. A box is final this many
  /// frames after its own (or when its tracker track ends); the events keep
  /// the tracker's boxes and are not delayed. 0: the tracker's boxes. 3 was
  /// best on PETS09-S2L1's first half (1-7 tried, both detection sets).
  int smooth_frames = 3;
  /// The `ended` of a continued track carries the mean appearance of all its
  /// pieces (true) or of its last piece only, as the tracker gave it (re-id
  /// matched the demo's cameras better with the last piece's).
  bool mean_of_all = false;
  /// Recent boxes a track's velocity is measured over.
  int velocity_boxes = 10;
};

/// One box of a repaired track for the MOT output: real (the tracker's) or
/// filled (interpolated over frames the tracker missed), smoothed when
/// `smooth_frames` > 0.
struct track_box {
  uint64_t frame_seq = 0;
  uint64_t track_id = 0;
  box bbox;
  bool filled = false;
};

/// What one step passes on: the events for re-id and zones (the tracker's
/// contract, see sort_tracker.hpp, with continued tracks under their first
/// fragment's id and several events of one track possibly in one batch, in
/// time order) and every box that became final in this step.
struct repair_step {
  track_batch batch;
  std::vector<track_box> boxes;
};

/// Feed it the tracker's output of every frame of one camera, in order.
///
/// A new track (`started`) is judged once it has `min_boxes` boxes or ends,
/// and once no live track that stopped being matched before it began has
/// either been matched again or ended (the tracker ends such a track within
/// its max_age frames). Until then its events are held back: at most
/// min_boxes - 1 frames plus the tracker's max_age. Its candidates are the
/// fragments that ended (tracker `ended`, held back here) whose last box is
/// before the new track's first detection and at most `max_gap_ms` before
/// it, and that pass the position, size and appearance gates; the cheapest
/// wins (candidates judged in one frame are assigned greedily by cost). A
/// continued track's events carry the fragment's id; its `started` becomes an
/// `updated` at the confirming frame. A fragment's `ended` is passed on once
/// the frame time is more than `max_gap_ms` past its last box and no new
/// track that could continue it awaits judgement (at once when it left at
/// the border); a fragment continued is
/// never ended, its continuation's `ended` carries the mean appearance of
/// all its pieces (weighted by boxes). Ids are the first fragment's, so
/// unique per camera as the tracker's. Deterministic.
class tracklet_repair {
public:
  explicit tracklet_repair(tracklet_repair_config cfg = {});

  /// One frame's tracker output.
  repair_step update(const track_batch& in);

  /// The size of the frames the boxes refer to (0: unknown, no border rule).
  void set_frame(int width, int height) {
    width_ = width;
    height_ = height;
  }

  /// The tracker's flush (end of stream): passes every event still held.
  repair_step flush(const track_batch& in);

  /// Fragments whose `ended` is held back, and new tracks not yet judged.
  size_t held() const { return held_.size(); }
  size_t pending() const;
  /// Boxes waiting for the frames after them to be smoothed.
  size_t unsmoothed() const;

  /// Every fragment and live track, as JSON text, so a restarted tracker
  /// keeps continued ids; restore() takes what snapshot() gave (throws on a
  /// malformed text, state unchanged).
  std::string snapshot() const;
  void restore(const std::string& text);

  const tracklet_repair_config& config() const { return cfg_; }

private:
  struct sample {
    uint64_t seq = 0;
    timestamp_ms ms = 0;
    box b;
  };
  struct appearance {
    std::vector<double> sum; // sum of weight * unit feature
    double weight = 0;
  };
  // A tracker track as seen here (by the tracker's id).
  struct live {
    uint64_t out_id = 0; // the id it is passed on under
    uint64_t first_seq = 0;
    timestamp_ms first_ms = 0;
    sample confirmed; // the box of its `started` event
    std::vector<sample> recent; // its last velocity_boxes real boxes
    appearance own; // its own detections' features
    appearance before; // the fragments it continues
    bool pending = false; // not judged yet: events held back
    std::vector<track_event> held_events;
    std::vector<track_box> held_boxes;
    std::vector<uint64_t> waiting_on; // tracker ids of live tracks it waits for
  };
  // A fragment whose tracker track ended; its `ended` waits for a continuation.
  struct fragment {
    uint64_t out_id = 0;
    std::vector<sample> recent;
    appearance all; // every piece's features
    track_event ended; // to pass on, renamed
  };

  repair_step step(const track_batch& in, bool final);
  void on_started(const track_event& e, const track_batch& in, repair_step& out);
  void on_updated(const track_event& e, repair_step& out);
  void on_ended(const track_event& e, repair_step& out);
  void judge(std::vector<uint64_t> ready, repair_step& out);
  void release(live& t, const fragment* from, repair_step& out);
  bool could_continue(const std::vector<sample>& before, const live& t) const;
  double cost(const fragment& f, const live& t) const;
  void add_box(live& t, const sample& s, repair_step& out, bool emit);

  bool at_border(const box& b) const;
  void smooth(repair_step& out, bool final);

  tracklet_repair_config cfg_;
  int width_ = 0, height_ = 0;
  std::map<uint64_t, live> live_; // by tracker id
  std::map<uint64_t, fragment> held_; // by tracker id of the last piece
  // Per output id, the boxes in frame order from smooth_frames before the
  // first one not yet passed on (`from`); ids whose tracker track ended in
  // this step, so their last boxes go out now.
  struct window {
    std::vector<track_box> boxes;
    size_t from = 0;
  };
  std::map<uint64_t, window> smoothing_;
  std::vector<uint64_t> finished_;
};

} // namespace weaver
