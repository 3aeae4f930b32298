// A camera's zones and lines from a runtime edit's JSON: what is taken, and
// each way a body is refused, with the place named.
#include <doctest/doctest.h>

#include "actors/tracker/zone_shapes.hpp"

using namespace weaver;
using json = nlohmann::json;

namespace {

std::string error_of(const std::string& text, int w = 256, int h = 576) {
  return parse_zone_shapes(json::parse(text), w, h).error;
}

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

} // namespace

TEST_SUITE("zone_shapes") {
  TEST_CASE("a valid body is taken, and given back in the same shape") {
    auto body =
      json::parse(R"({"zones": [{"name": "display", "polygon": [[40, 300], [216, 300], [216, 500], [40, 500]]}],
                                "lines": [{"name": "aisle", "from": [0, 380], "to": [256, 380]}]})");
    auto p = parse_zone_shapes(body, 256, 576);
    REQUIRE(p.error == "");
    REQUIRE(p.shapes.zones.size() == 1);
    CHECK(p.shapes.zones[0].name == "display");
    CHECK(p.shapes.zones[0].polygon.size() == 4);
    CHECK(p.shapes.zones[0].polygon[1].x == 216);
    REQUIRE(p.shapes.lines.size() == 1);
    CHECK(p.shapes.lines[0].b.x == 256); // the frame's edge is inside
    CHECK(zone_shapes_json(p.shapes) == body);
    // Fractions, and no lines or no zones at all.
    CHECK(error_of(R"({"zones": [{"name": "a", "polygon": [[0.5, 0.5], [10.25, 0], [5, 9.75]]}]})") == "");
    CHECK(error_of(R"({})") == "");
    CHECK(error_of(R"({"zones": [], "lines": null})") == "");
  }

  TEST_CASE("the body's shape: an object of zones and lines, nothing else") {
    CHECK(starts(error_of("[]"), "body: expected an object"));
    CHECK(starts(error_of(R"({"zone": []})"), "zone: unknown key (known: zones, lines)"));
    CHECK(starts(error_of(R"({"zones": {}})"), "zones: expected a list"));
    CHECK(starts(error_of(R"({"zones": [7]})"), "zones[0]: expected {name, polygon}"));
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[9,0],[0,9]], "colour": 1}]})"),
                 "zones[0].colour: unknown key"));
    CHECK(starts(error_of(R"({"lines": [{"name": "a", "from": [0, 0]}]})"), "lines[0].to: required"));
    CHECK(starts(error_of(R"({"zones": [{"polygon": [[0,0],[9,0],[0,9]]}]})"), "zones[0].name: required"));
    CHECK(starts(error_of(R"({"zones": [{"name": "a"}]})"), "zones[0].polygon: required"));
    // Nothing is taken from a refused body.
    auto p = parse_zone_shapes(json::parse(R"({"zones": [{"name": "a", "polygon": [[0,0],[9,0],[0,9]]}], "lines": 3})"),
                               256, 576);
    CHECK(p.error != "");
    CHECK(p.shapes.zones.empty());
  }

  TEST_CASE("points: two finite numbers inside the frame") {
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[9,0],[0]]}]})"),
                 "zones[0].polygon[2]: expected a point [x, y]"));
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[9,0],["1", 2]]}]})"),
                 "zones[0].polygon[2]: expected a point"));
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[9,0],[true, 2]]}]})"),
                 "zones[0].polygon[2]: expected a point"));
    CHECK(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[257,0],[0,9]]}]})")
          == "zones[0].polygon[1]: [257, 0] is outside the frame (0...256 x 0...576)");
    CHECK(starts(error_of(R"({"lines": [{"name": "a", "from": [0, -1], "to": [5, 5]}]})"),
                 "lines[0].from: [0, -1] is outside"));
    // The frame must be known.
    CHECK(starts(error_of(R"({})", 0, 576), "frame: the camera's size is not known"));
  }

  TEST_CASE("polygons: 3 to max_points points, simple, with an area; lines of two ends") {
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[9,0]]}]})"),
                 "zones[0].polygon: 2 points: a zone takes 3 to 64"));
    json many = json::array();
    for (int i = 0; i < 65; ++i) many.push_back({i, i % 2 ? 0 : 5});
    CHECK(starts(parse_zone_shapes({{"zones", {{{"name", "a"}, {"polygon", many}}}}}, 256, 576).error,
                 "zones[0].polygon: 65 points"));
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[5,5],[10,10]]}]})"),
                 "zones[0].polygon: has no area"));
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[0,0],[10,10],[0,10]]}]})"),
                 "zones[0].polygon: points 0 and 1 are the same"));
    // A bow tie: edges 0 and 2 cross (a symmetric one has no area at all).
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[10,10],[10,0],[0,4]]}]})"),
                 "zones[0].polygon: edges 0 and 2 cross"));
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[10,10],[10,0],[0,10]]}]})"),
                 "zones[0].polygon: has no area"));
    // A spike folding back along its edge.
    CHECK(starts(error_of(R"({"zones": [{"name": "a", "polygon": [[0,0],[20,0],[10,0],[10,10]]}]})"),
                 "zones[0].polygon: edges 0 and 1 fold"));
    // Concave is fine.
    CHECK(error_of(R"({"zones": [{"name": "u", "polygon": [[0,0],[3,0],[3,8],[7,8],[7,0],[10,0],[10,10],[0,10]]}]})")
          == "");
    CHECK(error_of(R"({"lines": [{"name": "a", "from": [5, 5], "to": [5, 5]}]})")
          == "lines[0]: from and to are the same point");
  }

  TEST_CASE("names: sane, and each once across zones and lines; list sizes bounded") {
    CHECK(valid_zone_name("display"));
    CHECK(valid_zone_name("Front door-2.b_c"));
    CHECK_FALSE(valid_zone_name(""));
    CHECK_FALSE(valid_zone_name(" door"));
    CHECK_FALSE(valid_zone_name("door "));
    CHECK_FALSE(valid_zone_name("a\"b"));
    CHECK_FALSE(valid_zone_name("<script>"));
    CHECK_FALSE(valid_zone_name("caf\xc3\xa9")); // letters are ASCII: names become metric labels
    CHECK_FALSE(valid_zone_name(std::string(65, 'a')));
    CHECK(valid_zone_name(std::string(64, 'a')));
    CHECK(starts(error_of(R"({"zones": [{"name": "a/b", "polygon": [[0,0],[9,0],[0,9]]}]})"),
                 "zones[0].name: 'a/b' is not a name"));
    CHECK(starts(error_of(R"({"zones": [{"name": 5, "polygon": [[0,0],[9,0],[0,9]]}]})"), "zones[0].name: required"));
    CHECK(
      error_of(
        R"({"zones": [{"name": "a", "polygon": [[0,0],[9,0],[0,9]]}], "lines": [{"name": "a", "from": [0,0], "to": [1,1]}]})")
      == "lines[0].name: 'a' is used twice (zones and lines share names)");
    json zones = json::array();
    for (int i = 0; i < 33; ++i)
      zones.push_back({{"name", "z" + std::to_string(i)}, {"polygon", {{0, 0}, {9, 0}, {0, 9}}}});
    CHECK(parse_zone_shapes({{"zones", zones}}, 256, 576).error == "zones: 33 given, at most 32");
    zones.erase(zones.begin());
    CHECK(parse_zone_shapes({{"zones", zones}}, 256, 576).error == "");
  }
}
