// What the web console shows of a camera now: its latest frames and the
// boxes of its live tracks, kept in the memory of the process that runs the
// camera and tracker roles. The camera actor offers each frame (a reference:
// frames are immutable and shared, nothing is copied), the tracker offers
// each frame's track events; the gateway of the same process reads the
// newest frame that has its boxes. Re-id, when it runs here too, offers each
// open track's provisional person. Thread-safe; pure (no CAF, no HTTP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "base/types.hpp"

namespace weaver {

/// A camera's newest frame and the boxes of its tracks in that frame.
struct live_snapshot {
  frame_ptr image; // never null
  std::vector<live_box> boxes; // empty: no track in that frame (or none known yet)
  // Wall clock when the camera's newest frame was offered: how long the
  // camera has been silent (a stopped camera's picture stays here).
  timestamp_ms arrived_ms = 0;
};

class live_view {
public:
  /// Keeps the last `ring` frames of each camera: the tracker's events lag
  /// the camera by the frames in flight in the detector.
  explicit live_view(size_t ring = 16);

  /// The camera role: a frame as it leaves for the detector, at wall clock
  /// `now_ms` (not the frame's capture time: a file's frames carry the
  /// configured start time). Null is ignored.
  void offer_frame(frame_ptr f, timestamp_ms now_ms = wall_clock_ms());

  static timestamp_ms wall_clock_ms();

  /// The tracker: one frame's track events (started and updated boxes
  /// replace the track's box, ended removes it).
  void offer_tracks(const track_batch& b);

  /// Re-id in this process: the provisional person of each of `camera`'s
  /// open tracks that has one (track -> person), replacing the last table.
  void offer_people(uint32_t camera, std::map<uint64_t, uint64_t> people);

  /// The newest frame of `camera` whose boxes are known: the frame of the
  /// tracker's latest events while it is still kept, else the newest frame
  /// without boxes. Nothing before the camera's first frame.
  std::optional<live_snapshot> latest(uint32_t camera) const;

  /// A kept frame of `camera` by sequence number, or null.
  frame_ptr frame_at(uint32_t camera, uint64_t seq) const;

  /// The cameras that offered a frame.
  std::vector<uint32_t> cameras() const;

private:
  struct track_box {
    live_box b;
    uint64_t frame_seq = 0;
  };
  struct camera_state {
    std::deque<frame_ptr> frames; // oldest first, at most ring_
    std::map<uint64_t, track_box> tracks; // live tracks: their last box
    std::optional<uint64_t> tracked_seq; // the frame of the newest events
    std::map<uint64_t, uint64_t> people; // track -> provisional person (re-id's latest table)
    timestamp_ms arrived_ms = 0; // of the newest frame
  };
  size_t ring_;
  mutable std::mutex mutex_;
  std::map<uint32_t, camera_state> cams_;
};

} // namespace weaver
