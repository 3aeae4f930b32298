#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "accel/detect/dnn_decoders.hpp"

using namespace weaver;

TEST_SUITE("dnn_decoders") {
  TEST_CASE("NanoDet: distances are the softmax expectation over bins, from the cell centre") {
    // A 2x3 grid, stride 8, 2 classes, 4 bins. Cell 4 (x 1, y 1) scores 0.9
    // for class 1; its left/top/right/bottom distributions peak hard at bins
    // 1, 2, 3, 0 (logits 50 vs 0: one-hot to float precision).
    const int gh = 2, gw = 3, classes = 2, bins = 4, stride = 8;
    std::vector<float> cls(static_cast<size_t>(gh * gw * classes), 0.1f);
    std::vector<float> reg(static_cast<size_t>(gh * gw * 4 * bins), 0.0f);
    cls[4 * classes + 1] = 0.9f;
    const int peak[4] = {1, 2, 3, 0};
    for (int side = 0; side < 4; ++side) reg[static_cast<size_t>(4 * 4 * bins + side * bins + peak[side])] = 50.f;
    auto out = decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, -1, 0.5f);
    REQUIRE(out.size() == 1);
    CHECK(out[0].class_id == 1);
    CHECK(out[0].score == doctest::Approx(0.9f));
    // centre (1.5*8, 1.5*8) = (12, 12); left 8, top 16, right 24, bottom 0
    CHECK(out[0].bbox.x == doctest::Approx(4.f));
    CHECK(out[0].bbox.y == doctest::Approx(-4.f));
    CHECK(out[0].bbox.w == doctest::Approx(32.f));
    CHECK(out[0].bbox.h == doctest::Approx(16.f));

    SUBCASE("the class filter keeps only the asked class") {
      CHECK(decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, 0, 0.5f).empty());
      CHECK(decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, 1, 0.5f).size() == 1);
    }
    SUBCASE("flat logits give the mean bin") {
      std::fill(reg.begin(), reg.end(), 0.f);
      auto flat = decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, -1, 0.f);
      REQUIRE(flat.size() == 1);
      // expectation 1.5 bins = 12 px each side, from the corner point (8, 8)
      CHECK(flat[0].bbox.x == doctest::Approx(-4.f));
      CHECK(flat[0].bbox.w == doctest::Approx(24.f));
    }
    SUBCASE("nothing above the threshold, nothing out") {
      CHECK(decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.95f, -1, 0.5f).empty());
    }
  }

  TEST_CASE("YOLO v2 region: anchors in grid cells; v3 yolo: anchors in input pixels") {
    // 2x2 grid, 1 anchor, 1 class; entries x, y, w, h, obj, class (activated).
    const int classes = 1, per = 5 + classes;
    std::vector<float> head(static_cast<size_t>(2 * 2 * per), 0.f);
    float* cell = head.data() + (1 * 2 + 0) * per; // row 1, col 0
    cell[0] = 0.5f; // x offset in the cell
    cell[1] = 0.25f; // y offset
    cell[2] = std::log(2.f); // w = anchor * 2
    cell[3] = 0.f; // h = anchor
    cell[4] = 0.8f; // objectness
    cell[5] = 0.5f; // class probability -> score 0.4
    SUBCASE("v2") {
      auto out = decode_yolo(head.data(), 2, 2, {1.f, 1.5f}, classes, 2, 64, 64, 0.3f);
      REQUIRE(out.size() == 1);
      CHECK(out[0].score == doctest::Approx(0.4f));
      // centre (0.5/2, 1.25/2) * 64 = (16, 40); w = 2*1/2*64 = 64, h = 1.5/2*64 = 48
      CHECK(out[0].bbox.x == doctest::Approx(16.f - 32.f));
      CHECK(out[0].bbox.y == doctest::Approx(40.f - 24.f));
      CHECK(out[0].bbox.w == doctest::Approx(64.f));
      CHECK(out[0].bbox.h == doctest::Approx(48.f));
    }
    SUBCASE("v3") {
      auto out = decode_yolo(head.data(), 2, 2, {10.f, 20.f}, classes, 3, 64, 64, 0.3f);
      REQUIRE(out.size() == 1);
      CHECK(out[0].bbox.w == doctest::Approx(20.f));
      CHECK(out[0].bbox.h == doctest::Approx(20.f));
      CHECK(out[0].bbox.x == doctest::Approx(16.f - 10.f));
    }
    SUBCASE("score = objectness x class probability, thresholded") {
      CHECK(decode_yolo(head.data(), 2, 2, {1.f, 1.f}, classes, 2, 64, 64, 0.45f).empty());
    }
  }

} // TEST_SUITE
