#include <doctest/doctest.h>

#include "actors/camera/camera_actor.hpp"

using namespace weaver;

TEST_SUITE("camera_actor") {
  TEST_CASE("files replay on their own clock, live sources are stamped with the wall clock") {
    const timestamp_ms start = 1'795'251'600'000; // 2026-11-21T09:00:00Z
    const timestamp_ms wall = 1'796'000'000'123;
    // A file: frame n at start + n / fps, whatever the wall clock says.
    CHECK(capture_time(false, start, 0, 10, wall) == start);
    CHECK(capture_time(false, start, 25, 10, wall) == start + 2500);
    CHECK(capture_time(false, start, 1, 30, wall) == start + 33);
    CHECK(capture_time(false, start, 2, 30, wall) == start + 67);
    // Live: the wall clock at capture, so an outage is a gap in the timeline
    // rather than frames renumbered into the past (or 1970).
    CHECK(capture_time(true, 0, 0, 10, wall) == wall);
    CHECK(capture_time(true, start, 500, 10, wall + 7000) == wall + 7000);
  }

  TEST_CASE("cameras sharing a source are one group, in order of appearance") {
    std::vector<camera_config> cams(3);
    cams[0].id = 1;
    cams[0].source = "rtsp://a/s";
    cams[1].id = 2;
    cams[1].source = "/v.avi";
    cams[2].id = 3;
    cams[2].source = "rtsp://a/s";
    auto g = group_cameras(cams);
    REQUIRE(g.size() == 2);
    CHECK(g[0].ids() == "1,3");
    CHECK(g[1].ids() == "2");
  }

  TEST_CASE("a file that ends well before its declared frame count ended early") {
    CHECK(ended_early(6, 795)); // the truncated vtest.avi
    CHECK_FALSE(ended_early(795, 795));
    CHECK_FALSE(ended_early(790, 795)); // within 1% (containers may estimate the count)
    CHECK(ended_early(780, 795));
    CHECK_FALSE(ended_early(98, 100)); // at least 2 frames of slack
    CHECK(ended_early(97, 100));
    CHECK_FALSE(ended_early(10, 0)); // unknown count: nothing to compare with
    CHECK_FALSE(ended_early(10, -1));
  }

} // TEST_SUITE
