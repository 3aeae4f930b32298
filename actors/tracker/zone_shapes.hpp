// A camera's zones and lines as JSON, in the configuration's own shape
// ({"zones": [{"name", "polygon": [[x, y], ...]}], "lines": [{"name",
// "from": [x, y], "to": [x, y]}]}), for the REST gateway's runtime edits
// (PUT /v1/cameras/{camera}/zones). What arrives is checked strictly
// before anything uses it: the tracker's zone tests assume simple polygons
// with an area, and the names become metric labels and store rows. Pure, no
// CAF.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/tracker/zone_events.hpp"

namespace weaver {

struct zone_shapes {
  std::vector<zone_def> zones;
  std::vector<line_def> lines;
};

struct zone_limits {
  size_t max_zones = 32;
  size_t max_lines = 32;
  size_t max_points = 64; // per polygon
  size_t max_name = 64; // bytes
};

struct parsed_zone_shapes {
  zone_shapes shapes;
  std::string error; // "" = valid; else names the place: "zones[1].polygon[2]: ..."
};

/// Checks `body` against a width x height frame (both > 0): an object with
/// only "zones" and "lines" (each a list, absent = none); a zone has a name
/// and 3 to max_points points, no two consecutive ones equal, edges that do
/// not cross, and an area; a line has a name and two different ends; every
/// coordinate a finite number within [0, width] x [0, height]; names 1 to
/// max_name bytes of letters, digits, space, '_', '.', '-' (no space at
/// either end), each used once across the camera's zones and lines.
parsed_zone_shapes parse_zone_shapes(const nlohmann::json& body, int width, int height, const zone_limits& limits = {});

/// The same shape back (what parse_zone_shapes takes).
nlohmann::json zone_shapes_json(const zone_shapes& s);

/// Whether a name passes the rule above.
bool valid_zone_name(const std::string& name, size_t max_name = zone_limits{}.max_name);

} // namespace weaver
