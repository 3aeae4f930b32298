#include "actors/tracker/track_record.hpp"

#include <doctest/doctest.h>

using namespace weaver;

TEST_SUITE("track record") {
  TEST_CASE("ended, quality-weighted: a track's appearance leans to its large, confident boxes") {
    // Two matches of one track: a small, weakly scored box with appearance
    // (1, 0) and a full-sized, confident one with (0, 1).
    track_record t;
    t.id = 1;
    t.quality_weighted = true;
    detection_batch small;
    small.width = 640;
    small.height = 480;
    small.detections.push_back({{100, 100, 10, 20}, 0.5f, 0, {1.f, 0.f}, {}});
    t.observe(small.detections[0], small);
    detection_batch large = small;
    large.detections[0] = {{100, 100, 40, 100}, 1.0f, 0, {0.f, 1.f}, {}};
    t.observe(large.detections[0], large);
    auto e = t.ended(3);
    REQUIRE(e.feature.size() == 2);
    // Weights 0.25 * 0.5 and 1: the mean is mostly the large box's.
    CHECK(e.feature[1] > 0.99f);
    CHECK(e.feature[0] == doctest::Approx(0.125f / std::sqrt(1 + 0.125f * 0.125f)).epsilon(1e-4));
    CHECK(t.feature_count == 2);
  }

  TEST_CASE("ended: equal boxes give the plain mean; another length is ignored") {
    track_record t;
    t.id = 1;
    detection_batch b;
    b.detections.push_back({{0, 0, 40, 100}, 0.9f, 0, {1.f, 0.f}, {}});
    t.observe(b.detections[0], b);
    b.detections[0].feature = {0.f, 1.f};
    t.observe(b.detections[0], b);
    b.detections[0].feature = {1.f, 1.f, 1.f};
    t.observe(b.detections[0], b);
    auto e = t.ended(1);
    REQUIRE(e.feature.size() == 2);
    CHECK(e.feature[0] == doctest::Approx(e.feature[1]));
    CHECK(t.feature_count == 2);
  }

  TEST_CASE("ended, by default: the plain mean of the track's appearance") {
    track_record t;
    t.id = 1;
    detection_batch b;
    b.width = 640;
    b.height = 480;
    b.detections.push_back({{100, 100, 10, 20}, 0.5f, 0, {1.f, 0.f}, {}});
    t.observe(b.detections[0], b);
    b.detections[0] = {{100, 100, 40, 100}, 1.0f, 0, {0.f, 1.f}, {}};
    t.observe(b.detections[0], b);
    auto e = t.ended(3);
    REQUIRE(e.feature.size() == 2);
    CHECK(e.feature[0] == doctest::Approx(e.feature[1]));
  }

} // TEST_SUITE
