#include "actors/tracker/kalman_xyah.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

using namespace weaver;

// Hand-computed values below: the box (10, 20, 40, 100) is the measurement
// (cx 30, cy 70, a 0.4, h 100); with h = 100 the position std is 100/20 = 5
// and the velocity std 100/160 = 0.625 (initial: twice and ten times that).

TEST_SUITE("kalman_xyah") {
  TEST_CASE("conversions between boxes and (cx, cy, a, h)") {
    auto z = to_xyah({10, 20, 40, 100});
    CHECK(z(0) == doctest::Approx(30));
    CHECK(z(1) == doctest::Approx(70));
    CHECK(z(2) == doctest::Approx(0.4));
    CHECK(z(3) == doctest::Approx(100));
    CHECK(from_xyah(z) == box{10, 20, 40, 100});
  }

  TEST_CASE("initial mean and covariance") {
    kalman_xyah kf({10, 20, 40, 100});
    const auto& x = kf.mean();
    CHECK(x(0) == doctest::Approx(30));
    CHECK(x(1) == doctest::Approx(70));
    CHECK(x(2) == doctest::Approx(0.4));
    CHECK(x(3) == doctest::Approx(100));
    for (int i = 4; i < 8; ++i) CHECK(x(i) == 0);
    const auto& p = kf.covariance();
    CHECK(p(0, 0) == doctest::Approx(100)); // (2 * 5)^2
    CHECK(p(1, 1) == doctest::Approx(100));
    CHECK(p(2, 2) == doctest::Approx(1e-4)); // (1e-2)^2
    CHECK(p(3, 3) == doctest::Approx(100));
    CHECK(p(4, 4) == doctest::Approx(39.0625)); // (10 * 0.625)^2
    CHECK(p(7, 7) == doctest::Approx(39.0625));
    CHECK(p(0, 4) == 0);
    CHECK(kf.current() == box{10, 20, 40, 100});
  }

  TEST_CASE("predict: F P F^T + Q by hand") {
    kalman_xyah kf({10, 20, 40, 100});
    kf.predict();
    const auto& p = kf.covariance();
    // P00 = 100 (position) + 39.0625 (velocity) + 25 (process noise 5^2).
    CHECK(p(0, 0) == doctest::Approx(164.0625));
    CHECK(p(3, 3) == doctest::Approx(164.0625));
    CHECK(p(0, 4) == doctest::Approx(39.0625));
    CHECK(p(4, 0) == doctest::Approx(39.0625));
    CHECK(p(4, 4) == doctest::Approx(39.453125)); // + 0.625^2
    CHECK(p(2, 2) == doctest::Approx(2.0000001e-4).epsilon(1e-9));
    CHECK(p(0, 1) == 0);
    CHECK(kf.mean()(0) == doctest::Approx(30)); // zero velocity: it stays
  }

  TEST_CASE("project and the squared Mahalanobis distance by hand") {
    kalman_xyah kf({10, 20, 40, 100});
    kf.predict();
    auto pr = kf.project();
    CHECK(pr.cov(0, 0) == doctest::Approx(189.0625)); // + measurement noise 5^2
    CHECK(pr.cov(2, 2) == doctest::Approx(0.0102000001).epsilon(1e-9)); // + 0.1^2
    CHECK(pr.chol(0, 0) == doctest::Approx(std::sqrt(189.0625)));
    // S is diagonal here, so distances add per dimension.
    CHECK(pr.distance2({30, 70, 0.4, 100}) == doctest::Approx(0));
    CHECK(pr.distance2({40, 70, 0.4, 100}) == doctest::Approx(100 / 189.0625));
    CHECK(pr.distance2({30, 70, 0.5, 100}) == doctest::Approx(0.01 / 0.0102000001));
    CHECK(pr.distance2({40, 70, 0.5, 100}) == doctest::Approx(100 / 189.0625 + 0.01 / 0.0102000001));
    CHECK(kf.gating_distance({40, 70, 0.4, 100}) == doctest::Approx(100 / 189.0625));
    // Centre only: the aspect ratio does not count.
    CHECK(pr.position_distance2({40, 70, 0.5, 100}) == doctest::Approx(100 / 189.0625));
  }

  TEST_CASE("update: gain and covariance by hand") {
    kalman_xyah kf({10, 20, 40, 100});
    kf.predict();
    kf.update(kalman_xyah::vec4{40, 70, 0.4, 100}); // 10 px right
    // Gain of cx: 164.0625 / 189.0625, of its velocity 39.0625 / 189.0625.
    CHECK(kf.mean()(0) == doctest::Approx(30 + 10 * 164.0625 / 189.0625));
    CHECK(kf.mean()(4) == doctest::Approx(10 * 39.0625 / 189.0625));
    CHECK(kf.mean()(1) == doctest::Approx(70));
    CHECK(kf.mean()(3) == doctest::Approx(100));
    const auto& p = kf.covariance();
    CHECK(p(0, 0) == doctest::Approx(164.0625 - 164.0625 * 164.0625 / 189.0625));
    CHECK(p(0, 4) == doctest::Approx(39.0625 - 164.0625 * 39.0625 / 189.0625));
    CHECK(p(4, 0) == p(0, 4));
    CHECK(p(4, 4) == doctest::Approx(39.453125 - 39.0625 * 39.0625 / 189.0625));
  }

  TEST_CASE("the Mahalanobis distance equals d^T S^-1 d with a correlated S") {
    kalman_xyah kf({100, 50, 30, 80});
    // Moving and growing: the covariance couples position and velocity.
    for (int t = 1; t <= 6; ++t) {
      kf.predict();
      kf.update(box{100.f + 7 * t, 50.f - 3 * t, 30.f + 0.5f * t, 80.f + t});
    }
    kf.predict();
    auto pr = kf.project();
    const kalman_xyah::vec4 z{130, 60, 0.35, 90};
    const kalman_xyah::vec4 d = z - pr.mean;
    const double want = (d.t() * pr.cov.inv() * d)(0);
    CHECK(pr.distance2(z) == doctest::Approx(want).epsilon(1e-9));
    // chol reproduces S.
    auto back = pr.chol * pr.chol.t();
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) CHECK(back(i, j) == doctest::Approx(pr.cov(i, j)).epsilon(1e-9));
  }

  TEST_CASE("the chi-square gate admits about 95% of the predicted measurements") {
    kalman_xyah kf({200, 100, 40, 120});
    for (int t = 1; t <= 4; ++t) {
      kf.predict();
      kf.update(box{200.f + 5 * t, 100.f, 40.f, 120.f});
    }
    kf.predict();
    auto pr = kf.project();
    std::mt19937 rng(7);
    std::normal_distribution<double> n01;
    const int n = 20000;
    int inside = 0;
    for (int i = 0; i < n; ++i) {
      kalman_xyah::vec4 u{n01(rng), n01(rng), n01(rng), n01(rng)};
      kalman_xyah::vec4 z = pr.mean + pr.chol * u; // z ~ N(mean, S)
      inside += pr.distance2(z) <= chi2inv95[4];
    }
    CHECK(static_cast<double>(inside) / n == doctest::Approx(0.95).epsilon(0.01));
  }

  TEST_CASE("learns a constant velocity") {
    auto truth = [](int t) {
      float h = 100.f + t;
      return box{50.f + 6 * t, 200.f - 2 * t, 0.4f * h, h};
    };
    kalman_xyah kf(truth(0));
    for (int t = 1; t <= 30; ++t) {
      kf.predict();
      kf.update(truth(t));
    }
    // Centre velocity: x + w/2 and y + h/2 move by 6 + 0.2 and -2 + 0.5.
    CHECK(kf.mean()(4) == doctest::Approx(6.2).epsilon(0.02));
    CHECK(kf.mean()(5) == doctest::Approx(-1.5).epsilon(0.02));
    for (int t = 31; t <= 33; ++t) kf.predict();
    box p = kf.current(), want = truth(33);
    CHECK(p.x == doctest::Approx(want.x).epsilon(0.01));
    CHECK(p.y == doctest::Approx(want.y).epsilon(0.01));
    CHECK(p.h == doctest::Approx(want.h).epsilon(0.02));
    // The uncertainty grows while nothing is measured.
    CHECK(kf.project().cov(0, 0) > 25);
  }

  TEST_CASE("height-scaled noise: the same relative error gives the same distance") {
    // A person twice as far (half the size) moving half as many pixels.
    kalman_xyah near({100, 100, 40, 100}), far({50, 50, 20, 50});
    near.predict();
    far.predict();
    double dn = near.gating_distance(to_xyah({110, 100, 40, 100}));
    double df = far.gating_distance(to_xyah({55, 50, 20, 50}));
    CHECK(dn == doctest::Approx(df));
  }

  TEST_CASE("degenerate boxes stay finite") {
    kalman_xyah kf({0, 0, 0, 0});
    for (int t = 0; t < 5; ++t) {
      kf.predict();
      kf.update(box{0, 0, 0, 0});
    }
    kf.predict();
    auto b = kf.current();
    CHECK(b.w >= 0);
    CHECK(b.h >= 0);
    CHECK(std::isfinite(b.x));
    CHECK(std::isfinite(kf.gating_distance(to_xyah({1, 1, 1, 1}))));
  }

} // TEST_SUITE
