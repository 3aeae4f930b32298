#include <doctest/doctest.h>

#include <stdexcept>

#include "accel/detect/nms.hpp"

using namespace weaver;

TEST_SUITE("nms") {
  TEST_CASE("overlapping boxes keep the best, distinct boxes survive") {
    std::vector<box> boxes{{0, 0, 10, 20}, {1, 1, 10, 20}, {50, 50, 10, 20}, {2, 0, 10, 20}};
    std::vector<float> scores{0.6f, 0.9f, 0.5f, 0.7f};
    auto keep = nms_indices(boxes, scores, 0.5f);
    REQUIRE(keep.size() == 2);
    CHECK(keep[0] == 1);
    CHECK(keep[1] == 2);
    // A threshold of 1 suppresses nothing, keeping score order.
    auto all = nms_indices(boxes, scores, 1.0f);
    CHECK(all == std::vector<size_t>{1, 3, 0, 2});
  }

  TEST_CASE("ties keep the lower index; sizes must match") {
    std::vector<box> boxes{{0, 0, 10, 10}, {0, 0, 10, 10}};
    CHECK(nms_indices(boxes, {0.5f, 0.5f}, 0.3f) == std::vector<size_t>{0});
    CHECK(nms_indices({}, {}, 0.3f).empty());
    CHECK_THROWS_AS(nms_indices(boxes, {0.5f}, 0.3f), std::invalid_argument);
  }

  TEST_CASE("the threshold is strict and classes do not suppress each other") {
    // IoU of these two is exactly 1/3.
    std::vector<detection> dets(3);
    dets[0].bbox = {0, 0, 10, 10};
    dets[0].score = 0.9f;
    dets[1].bbox = {5, 0, 10, 10};
    dets[1].score = 0.8f;
    dets[2].bbox = {0, 0, 10, 10};
    dets[2].score = 0.7f;
    dets[2].class_id = 1;
    REQUIRE(iou(dets[0].bbox, dets[1].bbox) == doctest::Approx(1.0 / 3));
    CHECK(nms(dets, 0.34f).size() == 3);
    auto out = nms(dets, 0.3f);
    REQUIRE(out.size() == 2);
    CHECK(out[0].score == 0.9f);
    CHECK(out[1].class_id == 1);
  }

} // TEST_SUITE
