// One configured camera: what the camera actor opens and how, and the
// zones and lines drawn on its image. Parsed by services/config.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/camera/crop.hpp"
#include "actors/camera/video_source.hpp"
#include "actors/tracker/zone_events.hpp"
#include "base/types.hpp"

namespace weaver {

struct camera_config {
  uint32_t id = 0;
  std::string name;
  std::string zone; // zone / department label
  std::string source; // resolved: path, rtsp:// URL or /dev/videoN
  std::optional<std::vector<int>> crop; // x, y, w, h in source pixels: a virtual camera
  // A perspective view inside the crop: four source points (top-left,
  // top-right, bottom-right, bottom-left) warped onto the crop's w x h image.
  std::optional<warp_quad> warp;
  double fps = 0; // 0 = the source's own rate
  bool loop = false;
  timestamp_ms start_ms = 0; // capture time of frame 0
  std::vector<zone_def> zones; // polygons in this camera's pixels
  std::vector<line_def> lines; // directed lines (doors, aisles)
  // Live sources: transport and timeouts (`rtsp:` section), and the
  // reconnect back-off (`reconnect:`). Virtual cameras take their source's.
  source_options input;
  int64_t reconnect_initial_ms = 250;
  // The longest wait between attempts: a camera that comes back streams
  // again within this (plus connecting) of its return.
  int64_t reconnect_max_ms = 1000;
};

} // namespace weaver
