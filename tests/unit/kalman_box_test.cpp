#include "actors/tracker/kalman_box.hpp"

#include <doctest/doctest.h>

using namespace weaver;

TEST_SUITE("kalman_box") {
  TEST_CASE("starts at the initial box") {
    kalman_box kf({10, 20, 40, 100});
    auto b = kf.current();
    CHECK(b.x == doctest::Approx(10));
    CHECK(b.y == doctest::Approx(20));
    CHECK(b.w == doctest::Approx(40));
    CHECK(b.h == doctest::Approx(100));
  }

  TEST_CASE("learns a constant velocity") {
    // Moves (+6, -2) px per frame and grows 1 px in height per frame.
    auto truth = [](int t) {
      float h = 100.f + t;
      return box{50.f + 6 * t, 200.f - 2 * t, 0.4f * h, h};
    };
    kalman_box kf(truth(0));
    for (int t = 1; t <= 30; ++t) {
      kf.predict();
      kf.update(truth(t));
    }
    // Centre velocity: x + w/2 and y + h/2 move by 6 + 0.2 and -2 + 0.5.
    CHECK(kf.velocity()[0] == doctest::Approx(6.2).epsilon(0.02));
    CHECK(kf.velocity()[1] == doctest::Approx(-1.5).epsilon(0.02));
    // Three frames without measurements: the prediction keeps moving with it.
    box p;
    for (int t = 31; t <= 33; ++t) p = kf.predict();
    box want = truth(33);
    CHECK(p.x == doctest::Approx(want.x).epsilon(0.01));
    CHECK(p.y == doctest::Approx(want.y).epsilon(0.01));
    CHECK(p.w == doctest::Approx(want.w).epsilon(0.02));
    CHECK(p.h == doctest::Approx(want.h).epsilon(0.02));
  }

  TEST_CASE("update pulls toward the measurement") {
    kalman_box kf({100, 100, 50, 100});
    for (int t = 0; t < 5; ++t) {
      kf.predict();
      kf.update({100, 100, 50, 100});
    }
    box before = kf.predict();
    kf.update({130, 100, 50, 100});
    box after = kf.current();
    CHECK(after.x > before.x + 1);
    CHECK(after.x < 130);
    CHECK(after.y == doctest::Approx(100).epsilon(0.01));
  }

  TEST_CASE("degenerate boxes stay finite") {
    kalman_box kf({0, 0, 0, 0});
    for (int t = 0; t < 5; ++t) {
      kf.predict();
      kf.update({0, 0, 0, 0});
    }
    auto b = kf.predict();
    CHECK(b.w >= 0);
    CHECK(b.h >= 0);
    CHECK(b.x == b.x); // not NaN
  }

} // TEST_SUITE
