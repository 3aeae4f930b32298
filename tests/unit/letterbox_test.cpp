#include <doctest/doctest.h>

#include <stdexcept>

#include "accel/detect/letterbox.hpp"

using namespace weaver;

TEST_SUITE("letterbox") {
  TEST_CASE("a 4:3 frame into a square input: full width, grey bands above and below") {
    auto p = input_placement::letterbox(768, 576, 640, 640);
    CHECK(p.sx == doctest::Approx(640.0 / 768));
    CHECK(p.sy == p.sx);
    CHECK(p.width == 640);
    CHECK(p.height == 480);
    CHECK(p.left == 0);
    CHECK(p.top == 80);
  }

  TEST_CASE("odd padding: the extra pixel goes below, as Ultralytics' round(dh - 0.1)") {
    // 100x48 into 64x64: scale 0.64, content 64x31 (30.72 rounds up), 33
    // rows of padding: 16 above, 17 below.
    auto p = input_placement::letterbox(100, 48, 64, 64);
    CHECK(p.width == 64);
    CHECK(p.height == 31);
    CHECK(p.top == 16);
    CHECK(p.left == 0);
    // A tall frame pads left and right instead.
    auto t = input_placement::letterbox(50, 100, 64, 64);
    CHECK(t.height == 64);
    CHECK(t.width == 32);
    CHECK(t.left == 16);
    CHECK(t.top == 0);
  }

  TEST_CASE("boxes map to the frame and back; a stretch scales each axis") {
    auto p = input_placement::letterbox(768, 576, 640, 640);
    box in{100, 180, 50, 100}; // input pixels
    box f = p.to_frame(in);
    CHECK(f.x == doctest::Approx(120));
    CHECK(f.y == doctest::Approx(120)); // (180 - 80) / (5/6)
    CHECK(f.w == doctest::Approx(60));
    CHECK(f.h == doctest::Approx(120));
    box back = p.to_input(f);
    CHECK(back.x == doctest::Approx(in.x));
    CHECK(back.y == doctest::Approx(in.y));
    CHECK(back.w == doctest::Approx(in.w));
    CHECK(back.h == doctest::Approx(in.h));

    auto s = input_placement::stretch(768, 576, 640, 640);
    CHECK(s.left == 0);
    CHECK(s.top == 0);
    box g = s.to_frame({64, 64, 64, 64});
    CHECK(g.x == doctest::Approx(76.8));
    CHECK(g.y == doctest::Approx(57.6));
    CHECK(g.w == doctest::Approx(76.8));
    CHECK(g.h == doctest::Approx(57.6));
  }

  TEST_CASE("empty sizes are refused, not divided by") {
    CHECK_THROWS_AS(input_placement::letterbox(0, 576, 640, 640), std::invalid_argument);
    CHECK_THROWS_AS(input_placement::stretch(768, 576, 640, 0), std::invalid_argument);
  }
}
