// The zones file of runtime edits: written in the shape it is read in,
// every camera checked on reading.
#include <doctest/doctest.h>

#include "services/zones_file.hpp"

using namespace weaver;

TEST_SUITE("zones_file") {
  TEST_CASE("what is written reads back the same") {
    std::map<uint32_t, zone_shapes> cams{{2, {{{"display", {{40, 300}, {216, 300}, {216, 500}}}}, {}}},
                                         {7, {{}, {{"door", {0, 5}, {20, 5}}}}}};
    auto back = parse_zones_file(zones_file_text(cams), [](uint32_t) { return std::pair<int, int>{256, 576}; });
    REQUIRE(back.size() == 2);
    CHECK(back[2].zones.at(0).name == "display");
    CHECK(back[2].zones.at(0).polygon.at(2).y == 500);
    CHECK(back[7].lines.at(0).b.x == 20);
    CHECK(parse_zones_file(zones_file_text({}), [](uint32_t) { return std::pair<int, int>{1, 1}; }).empty());
  }

  TEST_CASE("a malformed file or camera is refused, naming it") {
    auto frame = [](uint32_t id) { return id == 2 ? std::pair<int, int>{100, 100} : std::pair<int, int>{10, 10}; };
    auto error = [&](const std::string& text) {
      try {
        parse_zones_file(text, frame);
      } catch (const std::runtime_error& e) {
        return std::string{e.what()};
      }
      return std::string{"<no error>"};
    };
    CHECK(error("{") == "not JSON");
    CHECK(error("[]").rfind("expected {\"cameras\"", 0) == 0);
    CHECK(error(R"({"cameras": {}, "x": 1})").rfind("expected", 0) == 0);
    CHECK(error(R"({"cameras": {"two": {}}})") == "'two' is not a camera id");
    CHECK(error(R"({"cameras": {"99999999999": {}}})") == "'99999999999' is not a camera id");
    // Each camera against its own frame: 50 fits camera 2's, not camera 3's.
    const std::string line = R"({"lines": [{"name": "a", "from": [0, 0], "to": [50, 5]}]})";
    CHECK(error(R"({"cameras": {"2": )" + line + "}}") == "<no error>");
    CHECK(error(R"({"cameras": {"3": )" + line + "}}").rfind("camera 3: lines[0].to: [50, 5] is outside", 0) == 0);
  }
}
