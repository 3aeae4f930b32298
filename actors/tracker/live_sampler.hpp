// Live frames for a gateway in another process: the camera's newest frame
// with its track boxes (actors/live_view), JPEG-encoded at most `fps` times
// a second per camera, to ride on the tracker's batch to storage
// (base/types.hpp live_frame). Off (fps 0) unless mesh.live_fps is set: a
// picture a second of a 640 px frame is tens of kilobytes on the link.
// Pure: the caller gives the snapshot and the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>

#include "actors/live_view.hpp"
#include "base/types.hpp"

namespace weaver {

struct live_sampler_settings {
  double fps = 0; // pictures per camera per second; 0 = none
  int max_width = 640; // wider frames are scaled down (boxes stay in source pixels)
  int jpeg_quality = 70; // 1..100
};

class live_sampler {
public:
  using clock = std::chrono::steady_clock;

  /// Throws std::invalid_argument for fps < 0, max_width < 16 or a quality
  /// outside 1..100.
  explicit live_sampler(live_sampler_settings s = {});

  bool enabled() const { return settings_.fps > 0; }

  /// The camera's picture when one is due (none sent yet, or the last one
  /// 1/fps ago or more) and `snap` has an image; else nothing. A picture
  /// larger than max_live_jpeg_bytes is not sent (counted in dropped()).
  std::optional<live_frame> sample(uint32_t camera, const std::optional<live_snapshot>& snap, clock::time_point now);

  uint64_t sampled() const { return sampled_; }
  uint64_t dropped() const { return dropped_; }

private:
  live_sampler_settings settings_;
  std::map<uint32_t, clock::time_point> last_; // per camera: when the last picture was made
  uint64_t sampled_ = 0, dropped_ = 0;
};

} // namespace weaver
