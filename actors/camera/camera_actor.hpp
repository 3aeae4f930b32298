// The camera actor: decodes one source and emits a frame for every camera
// that shows it (a virtual camera is a crop of a shared source: decode once,
// crop many). Blocking by nature (decoding), so it runs on its own thread.
// It waits for the detector to admit each frame: that is where
// back-pressure (or, in realtime, counted drops) comes from.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/blocking_actor.hpp>

#include "actors/actors.hpp"
#include "actors/camera/camera_config.hpp"
#include "actors/live_view.hpp"

namespace weaver {

/// The cameras that share one source.
struct camera_group {
  std::string source;
  std::vector<camera_config> cameras;
  /// "1,2,3": the camera ids, for messages.
  std::string ids() const;
};

/// Groups configured cameras by source (first appearance order).
std::vector<camera_group> group_cameras(const std::vector<camera_config>& cams);

struct camera_options {
  bool realtime = false; // pace files at the camera's fps (live sources pace themselves)
  uint64_t max_frames = 0; // per source; 0 = until the source ends
  std::shared_ptr<std::atomic<bool>> stop; // set on SIGINT/SIGTERM
  /// Told whenever the source goes up or down, with why (passwords masked):
  /// the process's readiness check of this camera group.
  std::function<void(bool up, const std::string& why)> report;
  /// Told when a file source fails for good: it cannot be decoded, or it
  /// ends well before the frame count its container declares (truncated or
  /// corrupt). The run's other cameras go on; the run reports it.
  std::function<void(const std::string& error)> failed;
  /// The console's live view: every frame is offered (null: none).
  std::shared_ptr<live_view> live;
};

/// Whether a file that gave `decoded` frames ended early for a container
/// that declares `declared` (<= 0: unknown). Containers may estimate the
/// count from duration x rate, so a shortfall of up to 1% (at least 2
/// frames) is not counted.
bool ended_early(uint64_t decoded, int64_t declared);

/// A frame's capture time. Files replay: start_ms + seq / fps, the same on
/// every run. Live sources (network streams, devices) are stamped with the
/// wall clock (UTC ms) when the frame was read, so a reconnect's outage is a
/// gap in the timeline.
timestamp_ms capture_time(bool live, timestamp_ms start_ms, uint64_t seq, double fps, timestamp_ms wall_now_ms);

void camera_actor_impl(caf::blocking_actor* self, camera_group group, detector_actor detector, camera_options opts,
                       run_stats_ptr stats);

} // namespace weaver
