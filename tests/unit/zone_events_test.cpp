// Zone entry / exit and line crossings from tracks.
#include <doctest/doctest.h>

#include "actors/tracker/zone_events.hpp"

using namespace weaver;

namespace {

track_event ev(uint64_t id, track_state s, float foot_x, float foot_y, timestamp_ms t) {
  track_event e;
  e.camera_id = 4;
  e.track_id = id;
  e.state = s;
  e.time_ms = t;
  e.bbox = {foot_x - 10, foot_y - 50, 20, 50}; // bottom centre at (foot_x, foot_y)
  return e;
}

track_batch batch(std::vector<track_event> es) {
  track_batch b;
  b.camera_id = 4;
  b.events = std::move(es);
  return b;
}

} // namespace

TEST_SUITE("zone_events") {
  TEST_CASE("point in polygon, including concave shapes") {
    std::vector<point2> sq{{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    CHECK(inside_polygon(sq, {5, 5}));
    CHECK_FALSE(inside_polygon(sq, {15, 5}));
    CHECK_FALSE(inside_polygon(sq, {5, -1}));
    std::vector<point2> u{{0, 0}, {3, 0}, {3, 8}, {7, 8}, {7, 0}, {10, 0}, {10, 10}, {0, 10}};
    CHECK(inside_polygon(u, {1, 5}));
    CHECK_FALSE(inside_polygon(u, {5, 5})); // in the notch
    CHECK(inside_polygon(u, {5, 9}));
  }

  TEST_CASE("entering, staying, leaving a zone, and leaving when the track ends") {
    zone_monitor m{4, {{"till", {{100, 100}, {200, 100}, {200, 200}, {100, 200}}}}, {}};
    auto e1 = m.update(batch({ev(1, track_state::started, 50, 150, 1000)}));
    CHECK(e1.empty());
    auto e2 = m.update(batch({ev(1, track_state::updated, 150, 150, 1100)}));
    REQUIRE(e2.size() == 1);
    CHECK(e2[0].kind == zone_event_kind::enter);
    CHECK(e2[0].name == "till");
    CHECK(e2[0].time_ms == 1100);
    CHECK(e2[0].camera_id == 4);
    CHECK(m.update(batch({ev(1, track_state::updated, 160, 150, 1200)})).empty());
    auto e3 = m.update(batch({ev(1, track_state::updated, 250, 150, 1300)}));
    REQUIRE(e3.size() == 1);
    CHECK(e3[0].kind == zone_event_kind::exit);
    CHECK(e3[0].entered_ms == 1100);
    // A track born inside enters at once, and an end inside leaves.
    auto e4 = m.update(batch({ev(2, track_state::started, 150, 150, 2000)}));
    REQUIRE(e4.size() == 1);
    CHECK(e4[0].kind == zone_event_kind::enter);
    auto e5 = m.update(batch({ev(2, track_state::ended, 150, 150, 2500)}));
    REQUIRE(e5.size() == 1);
    CHECK(e5[0].kind == zone_event_kind::exit);
    CHECK(e5[0].track_id == 2);
    CHECK(e5[0].entered_ms == 2000);
  }

  TEST_CASE("a restored monitor neither enters again nor forgets when a stay began") {
    const std::vector<zone_def> zones{{"till", {{100, 100}, {200, 100}, {200, 200}, {100, 200}}},
                                      {"door", {{300, 100}, {400, 100}, {400, 200}, {300, 200}}}};
    zone_monitor m{4, zones, {}};
    m.update(batch({ev(1, track_state::started, 150, 150, 1000), ev(2, track_state::started, 50, 150, 1000)}));
    zone_monitor back{4, zones, {}};
    back.restore(m.snapshot());
    CHECK(back.snapshot() == m.snapshot());
    // Track 1 is still inside: nothing; then it leaves, with its entry time.
    CHECK(back.update(batch({ev(1, track_state::updated, 160, 150, 1100)})).empty());
    auto left = back.update(batch({ev(1, track_state::updated, 250, 150, 1200)}));
    REQUIRE(left.size() == 1);
    CHECK(left[0].kind == zone_event_kind::exit);
    CHECK(left[0].entered_ms == 1000);
    // A fresh monitor would have taken track 1 for a new arrival instead.
    zone_monitor fresh{4, zones, {}};
    auto again = fresh.update(batch({ev(1, track_state::updated, 160, 150, 1100)}));
    REQUIRE(again.size() == 1);
    CHECK(again[0].kind == zone_event_kind::enter);
    // A zone no longer configured is dropped; a malformed text changes nothing.
    zone_monitor fewer{4, {zones[1]}, {}};
    fewer.restore(m.snapshot());
    CHECK(fewer.update(batch({ev(1, track_state::ended, 150, 150, 1300)})).empty());
    CHECK_THROWS(back.restore("{\"tracks\": [{\"track\": 1}]}"));
    CHECK(back.update(batch({ev(2, track_state::updated, 150, 150, 1400)})).size() == 1); // 2 still known outside
  }

  TEST_CASE("crossing a directed line, both ways; passing beside it does not count") {
    // A vertical door line at x = 100 from y 0 to y 200 (a -> b points down):
    // its right side (seen walking a -> b) is x < 100 in image coordinates.
    zone_monitor m{4, {}, {{"door", {100, 0}, {100, 200}}}};
    m.update(batch({ev(1, track_state::started, 150, 100, 0)}));
    auto c1 = m.update(batch({ev(1, track_state::updated, 50, 100, 100)}));
    REQUIRE(c1.size() == 1);
    CHECK(c1[0].name == "door");
    CHECK(c1[0].kind == zone_event_kind::cross_forward); // left of a -> b to its right
    auto c2 = m.update(batch({ev(1, track_state::updated, 150, 110, 200)}));
    REQUIRE(c2.size() == 1);
    CHECK(c2[0].kind == zone_event_kind::cross_backward);
    // Below the segment's end: no crossing.
    m.update(batch({ev(3, track_state::started, 150, 300, 0)}));
    CHECK(m.update(batch({ev(3, track_state::updated, 50, 300, 100)})).empty());
    CHECK(std::string(to_string(zone_event_kind::cross_forward)) == "cross_forward");
  }

  TEST_CASE("no zones, no events, no state") {
    zone_monitor m{1, {}, {}};
    CHECK(m.empty());
    CHECK(m.update(batch({ev(1, track_state::started, 1, 1, 0)})).empty());
  }

  TEST_CASE("replace: a kept name keeps its stay, a removed zone's stay ends at the last time seen") {
    const std::vector<point2> sq{{100, 100}, {200, 100}, {200, 200}, {100, 200}};
    zone_monitor m{4, {{"till", sq}, {"door", sq}}, {}};
    m.update(batch({ev(1, track_state::started, 150, 150, 1000)})); // enters both
    m.update(batch({ev(1, track_state::updated, 160, 150, 1100)}));
    // "till" moves right (the track is now outside it), "door" goes, "exit" is new.
    auto closed = m.replace(
      {{"till", {{170, 100}, {300, 100}, {300, 200}, {170, 200}}}, {"exit", {{0, 0}, {400, 0}, {400, 400}, {0, 400}}}},
      {});
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].name == "door");
    CHECK(closed[0].kind == zone_event_kind::exit);
    CHECK(closed[0].time_ms == 1100);
    CHECK(closed[0].entered_ms == 1000);
    CHECK(closed[0].track_id == 1);
    // The next frame: out of the moved "till" (its stay since 1000 ends),
    // into the new "exit"; nothing of "door".
    auto e = m.update(batch({ev(1, track_state::updated, 160, 150, 1200)}));
    REQUIRE(e.size() == 2);
    CHECK(e[0].name == "till");
    CHECK(e[0].kind == zone_event_kind::exit);
    CHECK(e[0].entered_ms == 1000);
    CHECK(e[1].name == "exit");
    CHECK(e[1].kind == zone_event_kind::enter);
    CHECK(e[1].time_ms == 1200);
    // The last time seen survives a snapshot.
    zone_monitor r{4, m.zones(), m.lines()};
    r.restore(m.snapshot());
    auto gone = r.replace({}, {});
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].name == "exit");
    CHECK(gone[0].time_ms == 1200);
  }

  TEST_CASE("replace: new lines count from the next step; emptied, the tracks are forgotten") {
    zone_monitor m{4, {}, {{"old", {0, 0}, {0, 400}}}};
    m.update(batch({ev(1, track_state::started, 50, 100, 0)}));
    CHECK(m.replace({}, {{"door", {100, 0}, {100, 400}}}).empty());
    auto c = m.update(batch({ev(1, track_state::updated, 150, 100, 100)}));
    REQUIRE(c.size() == 1);
    CHECK(c[0].name == "door");
    // Nothing watched: a track's position is not kept, so shapes given back
    // later see no crossing from where it was before.
    m.replace({}, {});
    CHECK(m.empty());
    m.update(batch({ev(1, track_state::updated, 50, 100, 200)}));
    m.replace({}, {{"door", {100, 0}, {100, 400}}});
    CHECK(m.update(batch({ev(1, track_state::updated, 150, 100, 300)})).empty());
  }
}
