#include "actors/reid/topology.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

using namespace weaver;

namespace {

// A person 80 px tall standing with their feet at (x, y).
box standing_at(float x, float y, float h = 80) { return {x - h / 4, y - h, h / 2, h}; }

// Synthetic walks from camera 1 (640 wide) to camera 2 across a shared
// vertical edge: leave 1 at its right edge at height y, enter 2 at its left
// edge at the same height, `transit` ms later (mean 400 ms, +-150 ms noise).
void walk_across_edge(topology& topo, int walks, std::mt19937& rng) {
  std::uniform_real_distribution<float> y(200, 500);
  std::normal_distribution<double> transit(400, 150);
  for (int i = 0; i < walks; ++i) {
    float yy = y(rng);
    topo.learn_handover(1, 2, standing_at(630, yy), standing_at(10, yy + 5), static_cast<int64_t>(transit(rng)));
  }
}

} // namespace

TEST_CASE("topology: handovers across a shared edge teach the exit and entry regions and the transit time") {
  std::mt19937 rng(7);
  topology topo;
  CHECK_FALSE(topo.handover_score(1, 2, standing_at(630, 300), standing_at(10, 300), 400).has_value());
  walk_across_edge(topo, 40, rng);
  auto s = topo.summary(1, 2);
  CHECK(s.handovers == 40);
  CHECK(std::abs(s.transit_median_ms - 400) < 100);
  CHECK(s.transit_spread_ms >= 1000); // the floor: 150 ms of noise does not narrow it below
  CHECK(std::abs(s.exit_mean.x - 630) < 1);
  CHECK(std::abs(s.entry_mean.x - 10) < 1);
  CHECK(s.exit_mean.y > 300);
  CHECK(s.exit_mean.y < 400);
  // The reverse direction learnt nothing.
  CHECK_FALSE(topo.handover_score(2, 1, standing_at(10, 300), standing_at(630, 300), 400).has_value());

  // A continuation at the edge, at the same height, on time: likely.
  double good = *topo.handover_score(1, 2, standing_at(628, 350), standing_at(12, 352), 500);
  CHECK(good > 0.6);
  // Leaving from the middle of camera 1: not a handover this pair has seen.
  CHECK(*topo.handover_score(1, 2, standing_at(300, 350), standing_at(12, 352), 500) < 0.05);
  // Entering far from where the exit leads (other end of the edge).
  CHECK(*topo.handover_score(1, 2, standing_at(628, 210), standing_at(12, 490), 500) < 0.05);
  // Right places, far too late.
  CHECK(*topo.handover_score(1, 2, standing_at(628, 350), standing_at(12, 352), 30000) < 0.01);
}

TEST_CASE("topology: the transit time is robust to a few wrong matches and follows blind gaps") {
  topology topo;
  // A blind gap: 4 s to walk across it; 3 wrong matches of 50 s among 30.
  for (int i = 0; i < 30; ++i)
    topo.learn_handover(3, 4, standing_at(630, 300 + i), standing_at(10, 300 + i),
                        i % 10 == 0 ? 50000 : 4000 + 20 * (i % 5));
  auto s = topo.summary(3, 4);
  CHECK(std::abs(s.transit_median_ms - 4040) < 100);
  CHECK(s.transit_spread_ms < 1500);
  CHECK(*topo.handover_score(3, 4, standing_at(630, 310), standing_at(10, 310), 4000) > 0.8);
  CHECK(*topo.handover_score(3, 4, standing_at(630, 310), standing_at(10, 310), 0) < 0.05);
}

TEST_CASE("topology: the ring keeps the latest handovers") {
  topology_config cfg;
  cfg.max_handovers = 10;
  topology topo(cfg);
  for (int i = 0; i < 10; ++i) topo.learn_handover(1, 2, standing_at(630, 300), standing_at(10, 300), 0);
  for (int i = 0; i < 10; ++i) topo.learn_handover(1, 2, standing_at(630, 300), standing_at(10, 300), 20000);
  auto s = topo.summary(1, 2);
  CHECK(s.handovers == 10);
  CHECK(s.transit_median_ms == doctest::Approx(20000));
}

TEST_CASE("topology: a homography learnt from people seen on two overlapping views at once") {
  // Camera b looks at a's ground plane through a known homography (a
  // perspective view); people walk around, seen by both at once.
  const double H[9] = {0.8, 0.1, 40, -0.05, 0.9, 20, 0.0002, 0.0001, 1};
  auto apply = [&](image_point p) {
    double w = H[6] * p.x + H[7] * p.y + H[8];
    return image_point{float((H[0] * p.x + H[1] * p.y + H[2]) / w), float((H[3] * p.x + H[4] * p.y + H[5]) / w)};
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> pos(50, 550);
  std::normal_distribution<float> noise(0, 2);
  topology topo;
  CHECK_FALSE(topo.overlapping(1, 2));
  for (int person = 0; person < 6; ++person) {
    // A straight walk each: collinear on its own, an area together.
    image_point from{pos(rng), pos(rng)}, to{pos(rng), pos(rng)};
    std::vector<std::pair<foot_sample, foot_sample>> pairs;
    for (int k = 0; k < 10; ++k) {
      float f = k / 9.0f;
      image_point a{from.x + f * (to.x - from.x), from.y + f * (to.y - from.y)};
      image_point b = apply(a);
      b.x += noise(rng), b.y += noise(rng);
      pairs.push_back({{k * 100, a, 80}, {k * 100, b, 70}});
    }
    if (person == 5) {
      // One wrong correspondence (another person): RANSAC leaves it out.
      pairs.push_back({{1000, {100, 100}, 80}, {1000, {500, 400}, 70}});
    }
    topo.learn_covisible(1, 2, pairs);
    if (person == 0) CHECK_FALSE(topo.summary(1, 2).homography); // one straight walk: not enough
  }
  CHECK(topo.overlapping(1, 2));
  CHECK(topo.overlapping(2, 1));
  CHECK(topo.summary(1, 2).covisible == 6);
  REQUIRE(topo.summary(1, 2).homography);
  REQUIRE(topo.summary(2, 1).homography);
  for (image_point p : {image_point{120, 400}, image_point{500, 90}, image_point{300, 300}}) {
    auto m = topo.map_point(1, 2, p);
    REQUIRE(m);
    auto truth = apply(p);
    CHECK(std::hypot(m->x - truth.x, m->y - truth.y) < 6);
    auto back = topo.map_point(2, 1, *m);
    REQUIRE(back);
    CHECK(std::hypot(back->x - p.x, back->y - p.y) < 8);
  }
  // Co-visible tracks: the same person maps onto the other's foot points,
  // someone 100 px away does not.
  std::vector<std::pair<foot_sample, foot_sample>> same, other;
  for (int k = 0; k < 5; ++k) {
    image_point a{200.0f + 20 * k, 300};
    same.push_back({{k, a, 80}, {k, apply(a), 70}});
    other.push_back({{k, a, 80}, {k, {apply(a).x + 100, apply(a).y}, 70}});
  }
  CHECK(*topo.covisible_score(1, 2, same) > 0.9);
  CHECK(*topo.covisible_score(1, 2, other) < 0.05); // 100 px off: ~3 kernel widths
  CHECK_FALSE(topo.covisible_score(1, 3, same).has_value());
}

TEST_CASE("topology: to_json and from_json keep what was learnt") {
  std::mt19937 rng(11);
  topology topo;
  walk_across_edge(topo, 12, rng);
  topo.learn_covisible(2, 3, {});
  topology copy;
  copy.from_json(nlohmann::json::parse(topo.to_json().dump()));
  CHECK(copy.summary(1, 2).handovers == 12);
  CHECK(copy.summary(1, 2).transit_median_ms == doctest::Approx(topo.summary(1, 2).transit_median_ms));
  CHECK(*copy.handover_score(1, 2, standing_at(628, 350), standing_at(12, 352), 500)
        == doctest::Approx(*topo.handover_score(1, 2, standing_at(628, 350), standing_at(12, 352), 500)));
  CHECK(copy.summary(3, 2).covisible == 1);
  CHECK_THROWS(copy.from_json(nlohmann::json::parse(
    R"([{"from":1,"to":2,"handovers":[],"next":5,"covisible":0,"corr":[],"corr_next":0,"fitted_at":0,"h":[]}])")));
  CHECK(copy.summary(1, 2).handovers == 12); // a bad state leaves it as it was
}
