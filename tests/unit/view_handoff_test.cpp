#include "actors/reid/view_handoff.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace weaver;

namespace {

// Two horizontal strips of a 400 x 400 source: camera 1 shows rows 0-199,
// camera 2 rows 200-399 (plain crops: translations).
view_geometry strip(uint32_t id, int y) { return crop_view(id, "s.avi", 0, y, 400, 200); }

handoff_config strips() {
  handoff_config c;
  c.views = {strip(1, 0), strip(2, 200)};
  c.cut_margin = 0.02f;
  c.aspect = 0.4f;
  return c;
}

const foot_span* span_of(const std::vector<foot_span>& s, uint32_t camera) {
  for (const auto& f : s)
    if (f.camera_id == camera) return &f;
  return nullptr;
}

} // namespace

TEST_CASE("view handoff: a box cut at the bottom edge stands where its whole body's foot is, in the view below") {
  view_handoff h(strips());
  // Whole (100 px tall, foot at y 150 then 190), then cut at the edge (y
  // 200): only the upper body, 80 then 60 px of it.
  std::vector<timed_box> boxes{
    {0, {80, 50, 40, 100}}, {1000, {80, 90, 40, 100}}, {2000, {80, 120, 40, 80}}, {3000, {80, 140, 40, 60}}};
  auto s = h.feet(1, boxes);
  REQUIRE(s.size() == 2);
  const auto* own = span_of(s, 1);
  REQUIRE(own);
  CHECK(own->from == 0);
  CHECK(own->to == 1000);
  const auto* below = span_of(s, 2);
  REQUIRE(below);
  CHECK(below->from == 2000);
  CHECK(below->to == 3000);
  REQUIRE(below->path.size() == 2);
  // The nearest whole box is 100 px tall: foot at source y 220, then 240,
  // i.e. camera 2's rows 20 and 40, at the box's centre column.
  CHECK(below->path[0].p.x == doctest::Approx(100));
  CHECK(below->path[0].p.y == doctest::Approx(20));
  CHECK(below->path[1].p.y == doctest::Approx(40));
  CHECK(below->path[0].h == doctest::Approx(100));
}

TEST_CASE("view handoff: without a whole box the height comes from the width") {
  view_handoff h(strips());
  // 40 px wide at aspect 0.4: 100 px tall, of which 50 are in view.
  auto s = h.feet(1, {{0, {80, 150, 40, 50}}, {500, {90, 150, 40, 50}}});
  REQUIRE(s.size() == 1);
  CHECK(s[0].camera_id == 2);
  CHECK(s[0].path[0].p.y == doctest::Approx(50)); // source y 250
  CHECK(s[0].path[1].p.x == doctest::Approx(110));
  // The nearest whole box in time, not the first: the person grows as they come closer.
  auto n = h.feet(1, {{0, {80, 20, 40, 60}}, {900, {80, 60, 40, 120}}, {1000, {80, 100, 40, 100}}});
  const auto* below = span_of(n, 2);
  REQUIRE(below);
  CHECK(below->path[0].p.y == doctest::Approx(20)); // 100 + 120 = 220
}

TEST_CASE("view handoff: a foot in no view stays on its own camera") {
  view_handoff h(strips());
  // Camera 2's bottom edge is the image's own: nothing continues it.
  auto s = h.feet(2, {{0, {80, 50, 40, 100}}, {1000, {80, 150, 40, 50}}});
  REQUIRE(s.size() == 1);
  CHECK(s[0].camera_id == 2);
  CHECK(s[0].from == 0);
  CHECK(s[0].to == 1000);
}

TEST_CASE("view handoff: a warped view below gets the foot through its homography") {
  auto c = strips();
  // Camera 2 shows source rows 200-299, columns 0-199, at twice the size
  // (a warp whose quad is that rectangle): view = 2 * (source - (0, 200)).
  c.views[1].to_view = {2, 0, 0, 0, 2, -400, 0, 0, 1};
  view_handoff h(c);
  auto s = h.feet(1, {{0, {80, 50, 40, 100}}, {1000, {80, 140, 40, 60}}});
  const auto* below = span_of(s, 2);
  REQUIRE(below);
  REQUIRE(below->path.size() == 1);
  // Source foot (100, 240) -> (200, 80); the head at source y 140 -> -120: 200 px tall there.
  CHECK(below->path[0].p.x == doctest::Approx(200));
  CHECK(below->path[0].p.y == doctest::Approx(80));
  CHECK(below->path[0].h == doctest::Approx(200));
  // A foot beyond the warped view (source x 300) is in no view: it stays on camera 1.
  auto out = h.feet(1, {{0, {280, 140, 40, 60}}});
  REQUIRE(out.size() == 1);
  CHECK(out[0].camera_id == 1);
}

TEST_CASE("view handoff: overlapping views share a whole body's foot only when asked") {
  handoff_config c;
  c.views = {strip(1, 0), strip(2, 0)};
  c.views[0].width = 300; // columns 0-299
  c.views[1].to_view = {1, 0, -200, 0, 1, 0, 0, 0, 1}; // columns 200-599
  const std::vector<timed_box> whole{{0, {230, 50, 40, 100}}};
  CHECK(view_handoff(c).feet(1, whole).size() == 1);
  c.whole_bodies = true;
  auto s = view_handoff(c).feet(1, whole);
  REQUIRE(s.size() == 2);
  CHECK(s[1].camera_id == 2);
  CHECK(s[1].path[0].p.x == doctest::Approx(50));
}

TEST_CASE("view handoff: which views overlap is known from the geometry") {
  // Strips that only touch do not overlap; rows 0-199 and 150-349 do.
  CHECK_FALSE(view_handoff(strips()).overlap(1, 2));
  auto c = strips();
  c.views[1] = strip(2, 150);
  CHECK(view_handoff(c).overlap(1, 2));
  CHECK(view_handoff(c).overlap(2, 1));
  // A narrow overlap (rows 190-199: 5% of the view) is still found.
  c.views[1] = strip(2, 190);
  CHECK(view_handoff(c).overlap(1, 2));
  // A view inside another (a zoom, a warp to twice the size) overlaps it either way round.
  c.views[1].to_view = {2, 0, -100, 0, 2, -100, 0, 0, 1};
  CHECK(view_handoff(c).overlap(1, 2));
  // Other sources and unknown cameras never do.
  c.views[1].source = "other.avi";
  CHECK_FALSE(view_handoff(c).overlap(1, 2));
  CHECK_FALSE(view_handoff(c).overlap(1, 7));
}

TEST_CASE("view handoff: views of other sources and unknown cameras get nothing") {
  auto c = strips();
  c.views[1].source = "other.avi";
  view_handoff h(c);
  auto s = h.feet(1, {{0, {80, 140, 40, 60}}});
  REQUIRE(s.size() == 1);
  CHECK(s[0].camera_id == 1); // the view below is another camera's picture
  CHECK(h.feet(7, {{0, {80, 140, 40, 60}}}).empty());
  CHECK_FALSE(h.knows(7));
  CHECK(h.knows(2));
}

TEST_CASE("view handoff: handed track ids keep their origin") {
  const uint64_t id = handed_track_id(3, 41);
  auto o = handed_origin(id);
  REQUIRE(o);
  CHECK(o->first == 3);
  CHECK(o->second == 41);
  CHECK_FALSE(handed_origin(41));
  CHECK(handed_track_id(3, 41) != handed_track_id(4, 41));
  // A track's later stays on one camera get ids of their own, same origin.
  const uint64_t later = handed_track_id((1u << 24) - 1, 0xffffffffu, 2);
  CHECK(later != handed_track_id((1u << 24) - 1, 0xffffffffu, 1));
  REQUIRE(handed_origin(later));
  CHECK(handed_origin(later)->first == (1u << 24) - 1);
  CHECK(handed_origin(later)->second == 0xffffffffu);
  // Views of cameras whose ids do not fit get no handoff.
  auto c = strips();
  c.views.push_back(strip(1u << 24, 0));
  view_handoff h(c);
  CHECK_FALSE(h.knows(1u << 24));
  CHECK(h.knows(1));
}

TEST_CASE("view handoff: a foot that leaves a view and comes back is there twice") {
  view_handoff h(strips());
  // Whole (foot at y 190), then cut at the edge for 2 s (foot below, on
  // camera 2), whole again, then cut again: camera 1 from 0 to 5000 in one
  // track, camera 2 twice. One presence there over both stays would cover
  // the time the person stood on camera 1 between them.
  std::vector<timed_box> boxes{{0, {80, 90, 40, 100}},    {1000, {80, 130, 40, 70}}, {2000, {80, 130, 40, 70}},
                               {3000, {80, 130, 40, 70}}, {4000, {80, 90, 40, 100}}, {5000, {80, 90, 40, 100}},
                               {6000, {80, 140, 40, 60}}, {7000, {80, 140, 40, 60}}};
  auto s = h.feet(1, boxes);
  std::vector<const foot_span*> below, own;
  for (const auto& f : s) (f.camera_id == 2 ? below : own).push_back(&f);
  REQUIRE(below.size() == 2);
  CHECK(below[0]->from == 1000);
  CHECK(below[0]->to == 3000);
  CHECK(below[0]->path.size() == 3);
  CHECK(below[1]->from == 6000);
  CHECK(below[1]->to == 7000);
  // Its own camera, too: 0, then back at 4000-5000.
  REQUIRE(own.size() == 2);
  CHECK(own[0]->to == 0);
  CHECK(own[1]->from == 4000);
  // A foot that comes back more often than handed ids can tell apart: the
  // last stay is extended (before, stay 64 and on shared stay 63's id).
  std::vector<timed_box> flicker;
  for (timestamp_ms k = 0; k < 2 * timestamp_ms{max_stays} + 10; ++k)
    flicker.push_back({k * 1000, k % 2 ? box{80, 130, 40, 70} : box{80, 90, 40, 100}});
  size_t on_two = 0;
  timestamp_ms last_to = 0;
  for (const auto& f : h.feet(1, flicker))
    if (f.camera_id == 2) ++on_two, last_to = f.to;
  CHECK(on_two == max_stays);
  CHECK(last_to == flicker.back().t); // the last sample, on camera 2
  // A flicker shorter than split_ms is one stay.
  auto c = strips();
  c.split_ms = 5000;
  auto one = view_handoff(c).feet(1, boxes);
  CHECK(one.size() == 2);
}

TEST_CASE("view handoff: how far apart two boxes stand, in body heights, through the source") {
  view_handoff h(strips());
  // Camera 1's box stands at source (100, 150), 100 px tall; camera 2's at
  // source (100, 250) (its row 50): 100 px apart, one body height.
  auto d = h.apart(1, {80, 50, 40, 100}, 2, {80, -50, 40, 100});
  REQUIRE(d);
  CHECK(*d == doctest::Approx(1.0));
  // 300 px to the side, and the taller body sets the scale (150 px).
  d = h.apart(1, {80, 50, 40, 100}, 2, {380, -100, 40, 150});
  REQUIRE(d);
  CHECK(*d == doctest::Approx(std::hypot(300.0, 100.0) / 150.0));
  // One camera with itself: plain pixels.
  d = h.apart(2, {0, 0, 20, 50}, 2, {100, 0, 20, 50});
  REQUIRE(d);
  CHECK(*d == doctest::Approx(2.0));
  // A warped view: distances are the source's, not the view's. Camera 3
  // shows the lower strip at half scale.
  auto c = strips();
  view_geometry half = strip(3, 200);
  half.to_view = {0.5, 0, 0, 0, 0.5, -100, 0, 0, 1};
  c.views.push_back(half);
  view_handoff w(c);
  // Source foot (100, 250), 100 px tall = view (50, 25), 50 px tall.
  d = w.apart(1, {80, 50, 40, 100}, 3, {40, -25, 20, 50});
  REQUIRE(d);
  CHECK(*d == doctest::Approx(1.0));
  // Unknown cameras and other sources: no answer.
  CHECK_FALSE(h.apart(1, {0, 0, 10, 10}, 9, {0, 0, 10, 10}));
  auto o = strips();
  o.views[1].source = "other.avi";
  CHECK_FALSE(view_handoff(o).apart(1, {0, 0, 10, 10}, 2, {0, 0, 10, 10}));
  // Degenerate boxes give no answer, not a NaN.
  CHECK_FALSE(h.apart(1, {0, 0, 0, 0}, 2, {0, 0, 0, 0}));
}

TEST_CASE("view handoff: out of reach in either order of time, with more slack for sightings that overlap") {
  view_handoff h(strips());
  // Camera 1's box stands at source (100, 150), 100 px tall; camera 2's 300
  // px to the side: 3.2 body heights apart (by the taller, 100 px).
  const box a{80, 50, 40, 100}, b{380, -50, 40, 100};
  // b after a: one height plus 2 per second. 1 s reaches 3 heights (no),
  // 1.5 s reaches 4.
  CHECK(h.out_of_reach(1, a, 3000, 2, b, 4000, 2));
  CHECK_FALSE(h.out_of_reach(1, a, 3000, 2, b, 4500, 2));
  // b seen before a was last seen (their presences overlap): bound too, from
  // two heights (either box may be cut by its view's edge). At the same
  // moment 3.2 heights apart cannot be one person; 0.5 s apart reaches 3.
  CHECK(h.out_of_reach(1, a, 3000, 2, b, 3000, 2));
  CHECK(h.out_of_reach(1, a, 3000, 2, b, 2500, 2));
  CHECK_FALSE(h.out_of_reach(1, a, 3000, 2, b, 2000, 2)); // 1 s: 4 heights
  // The slack itself: 150 px down (1.5 heights). After a (1 height plus
  // 0.2 in 0.1 s) that is out of reach; seen 0.1 s before a left (2 plus
  // 0.2) it is not.
  const box below{80, 0, 40, 100};
  CHECK(h.out_of_reach(1, a, 3000, 2, below, 3100, 2));
  CHECK_FALSE(h.out_of_reach(1, a, 3000, 2, below, 2900, 2));
  // Off, or no answer from apart(): never out of reach.
  CHECK_FALSE(h.out_of_reach(1, a, 3000, 2, b, 3000, 0));
  CHECK_FALSE(h.out_of_reach(1, a, 3000, 9, b, 3000, 2));
}
