// The file that keeps zones edited at run time across restarts
// (tracker.zones_file): {"cameras": {"<id>": {"zones": [...], "lines":
// [...]}}}, the cameras edited so far, each in the shape PUT
// /v1/cameras/{camera}/zones takes. Written whole on each edit (temp file
// and rename, base/state_file); read when the configuration loads, where
// its cameras' shapes replace the configured ones.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "actors/tracker/zone_shapes.hpp"

namespace weaver {

std::string zones_file_text(const std::map<uint32_t, zone_shapes>& cameras);

/// The cameras of a zones file, each checked by parse_zone_shapes against
/// `frame_of(id)` (width, height). Throws std::runtime_error naming the
/// camera and the place ("camera 2: zones[0].polygon[1]: ...").
std::map<uint32_t, zone_shapes> parse_zones_file(const std::string& text,
                                                 const std::function<std::pair<int, int>(uint32_t)>& frame_of);

} // namespace weaver
