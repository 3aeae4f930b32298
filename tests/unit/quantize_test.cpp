// The int8 quantizer's arithmetic: scales, rounding, saturation, per-channel
// weights, fixed-point requantization against the double-precision formula,
// and the integer reference convolution against float.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "accel/engine/quantize.hpp"

using namespace weaver::engine;
using namespace weaver::engine::quant;

TEST_CASE("scale_for maps the largest magnitude onto qmax; zero and non-finite ranges give 1") {
  CHECK(scale_for(12.7f, 127) == doctest::Approx(0.1f));
  CHECK(scale_for(2.55f, 255) == doctest::Approx(0.01f));
  CHECK(scale_for(0.0f, 127) == 1.0f);
  CHECK(scale_for(std::numeric_limits<float>::infinity(), 127) == 1.0f);
  CHECK(scale_for(std::nanf(""), 127) == 1.0f);
}

TEST_CASE("quantize rounds halves away from zero and saturates") {
  CHECK(quantize(0.625f, 0.25f, -127, 127) == 3); // 2.5 -> 3 (binary-exact values)
  CHECK(quantize(-0.625f, 0.25f, -127, 127) == -3);
  CHECK(quantize(0.375f, 0.25f, -127, 127) == 2); // 1.5 -> 2
  CHECK(quantize(0.6f, 0.25f, -127, 127) == 2);
  CHECK(quantize(100.0f, 0.1f, -127, 127) == 127);
  CHECK(quantize(-100.0f, 0.1f, -127, 127) == -127);
  CHECK(quantize(-1.0f, 0.1f, 0, 255) == 0); // u8 clamps negatives
  CHECK(quantize(30.0f, 0.1f, 0, 255) == 255);
  CHECK(quantize(std::nanf(""), 0.1f, -127, 127) == 0);
}

TEST_CASE("quantize_weights: one scale per output channel (HWIO's last axis)") {
  // 1x1 filter, 2 inputs, 3 outputs: channel c's values are w[i*3 + c].
  const std::vector<float> w = {1.0f,  -0.5f, 0.0f, //
                                -2.0f, 0.25f, 0.0f};
  auto q = quantize_weights(w.data(), {1, 1, 2, 3});
  REQUIRE(q.scale.size() == 3);
  CHECK(q.scale[0] == doctest::Approx(2.0f / 127));
  CHECK(q.scale[1] == doctest::Approx(0.5f / 127));
  CHECK(q.scale[2] == 1.0f); // an all-zero channel
  CHECK(q.q == std::vector<int8_t>{64, -127, 0, -127, 64, 0}); // 63.5 -> 64
  // Every weight within half a step of its channel's scale.
  for (size_t i = 0; i < w.size(); ++i) CHECK(std::fabs(q.q[i] * q.scale[i % 3] - w[i]) <= 0.5f * q.scale[i % 3]);
  CHECK_THROWS_AS(quantize_weights(w.data(), {2, 3}), model_error);
}

TEST_CASE("quantize_bias is in accumulator units, per channel") {
  const std::vector<float> b = {1.0f, -0.3f};
  auto q = quantize_bias(b.data(), {0.01f, 0.1f}, 0.5f);
  CHECK(q == std::vector<int32_t>{200, -6});
  CHECK(quantize_bias(nullptr, {0.1f}, 1.0f) == std::vector<int32_t>{0});
}

TEST_CASE("to_fixed: M = M0 * 2^(shift-31) with M0 in [2^30, 2^31)") {
  for (double m : {0.5, 0.75, 1.0, 1e-5, 0.123456789, 3.0, 1000.5}) {
    auto f = to_fixed(m);
    CHECK(f.m0 >= (1 << 30));
    CHECK(to_double(f) == doctest::Approx(m).epsilon(1e-9));
  }
  CHECK(to_fixed(0.5).m0 == (1 << 30));
  CHECK(to_fixed(0.5).shift == 0);
  CHECK(to_fixed(1.0).shift == 1);
  // A fraction that rounds up to 1.0 renormalises instead of overflowing.
  auto f = to_fixed(1.0 - 1e-12);
  CHECK(f.m0 == (1 << 30));
  CHECK(f.shift == 1);
  CHECK(to_fixed(0.0).m0 == 0);
  CHECK_THROWS_AS(to_fixed(-1.0), std::invalid_argument);
  CHECK_THROWS_AS(to_fixed(3e9), std::invalid_argument);
}

TEST_CASE("requantize is round(acc * M) of the exact product: doubles agree away from ties") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> acc_d(-(1 << 24), 1 << 24);
  std::uniform_real_distribution<double> log_m(-14.0, 1.5);
  int exact = 0, total = 0;
  for (int i = 0; i < 200000; ++i) {
    const double m = std::pow(2.0, log_m(rng));
    const auto f = to_fixed(m);
    const int32_t acc = acc_d(rng);
    const double want = static_cast<double>(acc) * to_double(f);
    const int32_t got = requantize(acc, f);
    const double r = std::round(want); // halves away from zero
    REQUIRE(std::fabs(got - r) <= 1.0);
    ++total;
    if (got == r) ++exact;
    // Away from a tie (where the double's own rounding of acc * M, 53 bits,
    // can decide), the integer result is the double formula's.
    if (std::fabs(std::fabs(want - std::trunc(want)) - 0.5) > 1e-6) REQUIRE(got == r);
  }
  CHECK(exact > total * 0.9999);
  // Signs, zero and ties.
  auto half = to_fixed(0.5);
  CHECK(requantize(3, half) == 2); // 1.5 -> 2
  CHECK(requantize(-3, half) == -2); // -1.5 -> -2
  CHECK(requantize(0, half) == 0);
  CHECK(requantize(5, to_fixed(0.25)) == 1); // 1.25
  CHECK(requantize(7, to_fixed(2.0)) == 14); // a left shift
}

TEST_CASE("requantize saturates instead of wrapping") {
  constexpr int32_t big = std::numeric_limits<int32_t>::max(), small = std::numeric_limits<int32_t>::min();
  CHECK(requantize(big, to_fixed(4.0)) == big); // left shift clamps
  CHECK(requantize(small, to_fixed(4.0)) == small);
  CHECK(requantize(1 << 20, to_fixed(65536.0)) == big);
  CHECK(requantize(-(1 << 20), to_fixed(65536.0)) == small);
  CHECK(requantize(big, to_fixed(1.0)) == big); // no overflow at the edge
}

TEST_CASE("range_observer: min/max over every batch; unsigned when nothing negative") {
  range_observer r;
  CHECK_FALSE(r.seen());
  const std::vector<float> a = {0.5f, 2.0f, 0.0f}, b = {1.0f, 5.1f};
  r.observe(a.data(), 3);
  r.observe(b.data(), 2);
  CHECK(r.is_unsigned());
  CHECK(r.max() == 5.1f);
  CHECK(r.scale() == doctest::Approx(5.1f / 255));
  const std::vector<float> c = {-12.7f};
  r.observe(c.data(), 1);
  CHECK_FALSE(r.is_unsigned());
  CHECK(r.scale() == doctest::Approx(0.1f));
}

TEST_CASE("reference_conv2d (integer only) agrees with a float convolution of the dequantized values") {
  // 3x3, stride 1, pad 1, 4 -> 6 channels, relu; then a depthwise variant.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int variant = 0; variant < 4; ++variant) {
    const int groups = variant % 2 ? 4 : 1;
    const bool leaky = variant >= 2; // leaky relu: m_neg = M * alpha for negative accumulators, s8 out
    const int64_t H = 5, W = 6, C = 4, CO = groups == 1 ? 6 : 4, cg = C / groups;
    attrs a;
    a.kernel = {3, 3};
    a.pads = {1, 1, 1, 1};
    a.groups = groups;
    a.activation = leaky ? act::leaky : act::relu;
    a.alpha = 0.1f;
    shape_t is{1, H, W, C}, ws{3, 3, cg, CO}, os{1, H, W, CO};
    std::vector<float> x(static_cast<size_t>(numel(is))), w(static_cast<size_t>(numel(ws))), b(CO);
    for (auto& v : x) v = u(rng);
    for (auto& v : w) v = u(rng);
    for (auto& v : b) v = 0.2f * u(rng);
    const float sx = scale_for(1.0f, s8_max), sy = 0.05f;
    std::vector<int32_t> qx(x.size());
    for (size_t i = 0; i < x.size(); ++i) qx[i] = quantize(x[i], sx, -127, 127);
    auto qw = quantize_weights(w.data(), ws);
    auto qb = quantize_bias(b.data(), qw.scale, sx);
    std::vector<fixed_multiplier> m, m_neg;
    for (float s : qw.scale) {
      m.push_back(to_fixed(static_cast<double>(sx) * s / sy));
      if (leaky) m_neg.push_back(to_fixed(static_cast<double>(sx) * s / sy * a.alpha));
    }
    const double lo = leaky ? -128 : 0, hi = leaky ? 127 : 255;
    auto q =
      reference_conv2d(qx, is, qw.q, ws, qb, a, os, m, static_cast<int32_t>(lo), static_cast<int32_t>(hi), m_neg);
    // Float convolution of the dequantized inputs and weights: only the
    // output rounding (half a step) and the bias rounding separate them.
    for (int64_t y = 0; y < H; ++y)
      for (int64_t xx = 0; xx < W; ++xx)
        for (int64_t oc = 0; oc < CO; ++oc) {
          const int64_t g = oc / (CO / groups);
          double acc = qb[static_cast<size_t>(oc)] * static_cast<double>(sx) * qw.scale[static_cast<size_t>(oc)];
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              int64_t iy = y - 1 + ky, ix = xx - 1 + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              for (int64_t ic = 0; ic < cg; ++ic)
                acc += qx[static_cast<size_t>((iy * W + ix) * C + g * cg + ic)] * static_cast<double>(sx)
                  * qw.q[static_cast<size_t>(((ky * 3 + kx) * cg + ic) * CO + oc)] * qw.scale[static_cast<size_t>(oc)];
            }
          const double act_y = leaky ? (acc < 0 ? 0.1 * acc : acc) : std::max(acc, 0.0);
          const double want = std::clamp(std::round(act_y / sy), lo, hi);
          REQUIRE(std::fabs(q[static_cast<size_t>((y * W + xx) * CO + oc)] - want) <= 1.0);
        }
  }
}
