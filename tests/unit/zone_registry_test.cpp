// The zones shared by the gateway that edits them and the tracker that
// evaluates them: versions, what changed since, frame sizes, listeners.
#include <doctest/doctest.h>

#include <thread>

#include "actors/tracker/zone_registry.hpp"

using namespace weaver;

namespace {

zone_shapes one_zone(const std::string& name) { return {{{name, {{0, 0}, {9, 0}, {0, 9}}}}, {}}; }

} // namespace

TEST_SUITE("zone_registry") {
  TEST_CASE("set replaces a known camera's shapes; the tracker takes what changed since its version") {
    zone_registry r{{{1, one_zone("a")}, {2, {}}}, {{1, {256, 576}}}};
    CHECK(r.version() == 0);
    CHECK(r.has(2));
    CHECK_FALSE(r.has(3));
    CHECK(r.get(1)->zones.at(0).name == "a");
    CHECK_FALSE(r.get(3));
    uint64_t seen = 0;
    CHECK(r.changed_since(seen, &seen).empty());
    CHECK_FALSE(r.set(3, one_zone("x"))); // not a camera of the configuration
    CHECK(r.version() == 0);
    CHECK(r.set(2, one_zone("b")));
    CHECK(r.set(1, one_zone("c")));
    CHECK(r.set(2, one_zone("d")));
    CHECK(r.version() == 3);
    auto changed = r.changed_since(seen, &seen);
    REQUIRE(changed.size() == 2);
    CHECK(changed[0].first == 1);
    CHECK(changed[0].second.zones.at(0).name == "c");
    CHECK(changed[1].second.zones.at(0).name == "d"); // the newest
    CHECK(seen == 3);
    CHECK(r.changed_since(seen, &seen).empty());
    CHECK(r.set(1, {}));
    changed = r.changed_since(seen, &seen);
    REQUIRE(changed.size() == 1);
    CHECK(changed[0].second.zones.empty());
  }

  TEST_CASE("frame sizes: known at start, then as the tracker sees them") {
    zone_registry r{{{1, {}}, {2, {}}}, {{1, {256, 576}}}};
    CHECK(r.size_of(1)->width == 256);
    CHECK_FALSE(r.size_of(2));
    r.note_frame(2, 768, 576);
    r.note_frame(2, 0, 0); // no size: ignored
    r.note_frame(9, 10, 10); // not a camera: ignored
    CHECK(r.size_of(2)->width == 768);
    CHECK(r.size_of(2)->height == 576);
    CHECK_FALSE(r.size_of(9));
  }

  TEST_CASE("listeners hear every set, in order, with the camera's new shapes") {
    zone_registry r{{{1, {}}}};
    std::vector<std::string> heard;
    r.on_set([&](uint32_t camera, const zone_shapes& s) {
      heard.push_back(std::to_string(camera) + ":" + (s.zones.empty() ? "-" : s.zones[0].name));
    });
    r.set(1, one_zone("a"));
    r.set(1, {});
    r.set(7, one_zone("x"));
    CHECK(heard == std::vector<std::string>{"1:a", "1:-"});
  }

  TEST_CASE("concurrent sets and reads: every version is one whole set") {
    zone_registry r{{{1, {}}}};
    std::thread writer{[&] {
      for (int i = 0; i < 500; ++i) r.set(1, one_zone("z" + std::to_string(i)));
    }};
    uint64_t seen = 0;
    std::string last;
    while (seen < 500) {
      for (auto& [cam, s] : r.changed_since(seen, &seen)) {
        REQUIRE(s.zones.size() == 1);
        last = s.zones[0].name;
      }
    }
    writer.join();
    CHECK(last == "z499");
  }
}

TEST_CASE("zone registry: the keeper runs after the listeners and says whether the edit was kept") {
  zone_registry r(std::map<uint32_t, zone_shapes>{{1, {}}});
  std::vector<std::string> order;
  r.on_set([&](uint32_t, const zone_shapes&) { order.push_back("listener"); });
  bool kept = true;
  CHECK(r.set(1, one_zone("a"), &kept));
  CHECK_FALSE(kept); // no keeper: nothing kept
  bool ok = false;
  r.keep_with([&](uint32_t camera, const zone_shapes& s) {
    order.push_back("keeper " + std::to_string(camera) + " " + s.zones.at(0).name);
    return ok;
  });
  CHECK(r.set(1, one_zone("b"), &kept));
  CHECK_FALSE(kept);
  ok = true;
  CHECK(r.set(1, one_zone("c"), &kept));
  CHECK(kept);
  CHECK(order == std::vector<std::string>{"listener", "listener", "keeper 1 b", "listener", "keeper 1 c"});
  CHECK_FALSE(r.set(2, one_zone("x"), &kept)); // not a camera of the configuration
  CHECK_FALSE(kept);
}
