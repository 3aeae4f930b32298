// The integer layers on codes (accel/engine/int8_layers.hpp): the conv
// requantization against quant::requantize and the reference convolution,
// max pool, add, resize and copy against the float kernels within the
// rounding they add, and the plan's code types; and the fast (vectorised,
// table, threaded) loops equal to the letter of their definitions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "accel/engine/int8_layers.hpp"
#include "accel/engine/int8_plan.hpp"
#include "accel/engine/kernels.hpp"

using namespace weaver::engine;

namespace {

struct coded {
  shape_t shape;
  bool is_signed = false;
  float scale = 1;
  std::vector<uint8_t> codes;
  std::vector<float> real;
};

coded random_coded(std::mt19937& rng, const shape_t& s, bool is_signed, float scale) {
  coded c{s, is_signed, scale, {}, {}};
  for (int64_t i = 0; i < numel(s); ++i) {
    const int v = is_signed ? static_cast<int>(rng() % 256) - 128 : static_cast<int>(rng() % 256);
    c.codes.push_back(static_cast<uint8_t>(v));
    c.real.push_back(scale * static_cast<float>(v));
  }
  return c;
}

/// |code - round(float result / scale)| <= 1 everywhere: each integer
/// rounding moves a result by at most half a code (add: two, the first 256x
/// finer; resize: Q8 fractions move a tap's weight by at most 1/512, times a
/// difference of at most 255 codes per axis, under half a code), so one code
/// in all; and at least `min_exact` of the codes agree exactly.
void check_within_one(const std::vector<uint8_t>& got, bool is_signed, const std::vector<float>& want, float scale,
                      double min_exact) {
  REQUIRE(got.size() == want.size());
  size_t exact = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float r = std::clamp(std::nearbyint(want[i] / scale), is_signed ? -128.f : 0.f, is_signed ? 127.f : 255.f);
    const int32_t g = quant::code_of(got[i], is_signed);
    REQUIRE(std::abs(g - static_cast<int32_t>(r)) <= 1);
    exact += g == static_cast<int32_t>(r);
  }
  CHECK(static_cast<double>(exact) >= min_exact * static_cast<double>(got.size()));
}

} // namespace

TEST_CASE("requantize_conv: bias, per-channel multipliers, relu and leaky exactly as quant::requantize") {
  std::mt19937 rng(4);
  const int64_t pixels = 500, co = 7;
  std::vector<int32_t> acc(static_cast<size_t>(pixels * co)), bias(static_cast<size_t>(co));
  std::uniform_int_distribution<int32_t> a_d(-3000000, 3000000), b_d(-20000, 20000);
  for (auto& v : acc) v = a_d(rng);
  for (auto& v : bias) v = b_d(rng);
  // Multipliers from tiny to above 1 (a left shift: the general path), and
  // accumulators that land exactly on a half (ties away from zero).
  std::vector<quant::fixed_multiplier> m{quant::to_fixed(1e-4),       quant::to_fixed(3.7e-5), quant::to_fixed(0.5),
                                         quant::to_fixed(1.0 / 1024), quant::to_fixed(2.5),    quant::to_fixed(1e-9),
                                         quant::to_fixed(0.013)};
  for (int64_t p = 0; p < 20; ++p)
    acc[static_cast<size_t>(p * co + 3)] = static_cast<int32_t>(512 * (2 * p - 19)) - bias[3];
  std::vector<quant::fixed_multiplier> m_neg;
  for (auto f : m) m_neg.push_back(quant::to_fixed(quant::to_double(f) * 0.1));
  for (act a : {act::none, act::relu, act::leaky})
    for (bool out_signed : {false, true}) {
      attrs at;
      at.activation = a;
      std::vector<uint8_t> out(acc.size());
      quant::requantize_conv(acc.data(), pixels, co, bias, m,
                             a == act::leaky ? m_neg : std::vector<quant::fixed_multiplier>{}, at, out_signed,
                             out.data());
      for (int64_t p = 0; p < pixels; ++p)
        for (int64_t c = 0; c < co; ++c) {
          const int32_t v = acc[static_cast<size_t>(p * co + c)] + bias[static_cast<size_t>(c)];
          int32_t q =
            quant::requantize(v, a == act::leaky && v < 0 ? m_neg[static_cast<size_t>(c)] : m[static_cast<size_t>(c)]);
          if (a == act::relu) q = std::max(q, 0);
          q = std::clamp(q, quant::code_lo(out_signed), quant::code_hi(out_signed));
          REQUIRE(quant::code_of(out[static_cast<size_t>(p * co + c)], out_signed) == q);
        }
    }
  attrs bad;
  bad.activation = act::sigmoid;
  std::vector<uint8_t> out(acc.size());
  CHECK_THROWS_AS(quant::requantize_conv(acc.data(), pixels, co, bias, m, {}, bad, false, out.data()), model_error);
}

TEST_CASE("integer max pool, add, bilinear resize and copy stay within one code of the float kernels") {
  std::mt19937 rng(7);
  SUBCASE("max pool: exactly the float max (max commutes with the scale)") {
    for (bool sgn : {true, false}) {
      auto x = random_coded(rng, {1, 13, 11, 20}, sgn, 0.05f);
      attrs a;
      a.kernel = {3, 3};
      a.stride = {2, 2};
      a.pads = {1, 1, 1, 1};
      const shape_t os{1, 7, 6, 20};
      std::vector<uint8_t> got(static_cast<size_t>(numel(os)));
      quant::max_pool_codes(x.codes.data(), x.shape, sgn, a, got.data(), os);
      std::vector<float> want(got.size());
      kernels::max_pool_nhwc(x.real.data(), x.shape, a, want.data(), os);
      check_within_one(got, sgn, want, x.scale, 1.0);
    }
  }
  SUBCASE("add of two scales") {
    const shape_t s{1, 9, 10, 24};
    auto a = random_coded(rng, s, false, 0.03f), b = random_coded(rng, s, true, 0.07f);
    const float so = 0.06f;
    std::vector<uint8_t> got(static_cast<size_t>(numel(s)));
    quant::add_codes(a.codes.data(), false, b.codes.data(), true, numel(s),
                     quant::add_multipliers_for(a.scale, b.scale, so), got.data(), true);
    std::vector<float> want(got.size());
    kernels::binary(op::add, a.real.data(), s, b.real.data(), s, want.data(), s);
    check_within_one(got, true, want, so, 0.9); // 2 roundings: 94.8% measured
  }
  SUBCASE("bilinear resize up and down, half pixel and legacy") {
    for (const auto& [in, out, half] :
         std::vector<std::tuple<shape_t, shape_t, bool>>{{{1, 13, 13, 16}, {1, 26, 26, 16}, false},
                                                         {{1, 26, 26, 8}, {1, 13, 13, 8}, true},
                                                         {{1, 7, 9, 8}, {1, 12, 20, 8}, true}}) {
      auto x = random_coded(rng, in, false, 0.04f);
      const float so = 0.05f;
      std::vector<uint8_t> got(static_cast<size_t>(numel(out)));
      quant::resize_bilinear_codes(x.codes.data(), in, false, quant::resize_taps(in[1], out[1], half, false),
                                   quant::resize_taps(in[2], out[2], half, false),
                                   quant::resize_multiplier(x.scale, so), got.data(), out, false);
      std::vector<float> want(got.size());
      kernels::resize_bilinear_nhwc(x.real.data(), in, half, false, want.data(), out);
      check_within_one(got, false, want, so, 0.9);
    }
  }
  SUBCASE("copy into a channel slice: the slice rescaled, the rest untouched, the same scale a plain copy") {
    const shape_t s{1, 5, 6, 12};
    auto x = random_coded(rng, s, true, 0.02f);
    std::vector<uint8_t> got(30 * 30, 7);
    quant::copy_codes(x.codes.data(), 30, 12, true, quant::to_fixed(static_cast<double>(x.scale) / 0.03f), got.data(),
                      30, 9, false);
    for (int64_t px = 0; px < 30; ++px)
      for (int64_t c = 0; c < 30; ++c) {
        const int32_t v = got[static_cast<size_t>(px * 30 + c)];
        if (c < 9 || c >= 21) {
          REQUIRE(v == 7);
          continue;
        }
        const float r = std::clamp(std::nearbyint(x.real[static_cast<size_t>(px * 12 + c - 9)] / 0.03f), 0.f, 255.f);
        REQUIRE(std::abs(v - static_cast<int32_t>(r)) <= 1);
      }
    std::vector<uint8_t> same(x.codes.size());
    quant::copy_codes(x.codes.data(), 30, 12, true, quant::to_fixed(1.0), same.data(), 12, 0, true);
    CHECK(same == x.codes);
  }
}

namespace {

// The definitions the fast loops must equal bit for bit: quant::requantize
// (one rounding, ties away from zero, int32 saturation) then the code range.
int32_t rq(int32_t v, quant::fixed_multiplier m, bool out_signed) {
  return std::clamp(quant::requantize(v, m), quant::code_lo(out_signed), quant::code_hi(out_signed));
}

// REQUIRE only on a difference: millions of equal codes stay cheap to check.
void same(int32_t got, int32_t want) {
  if (got != want) REQUIRE(got == want);
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, int64_t n) {
  std::vector<uint8_t> b(static_cast<size_t>(n));
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  return b;
}

} // namespace

TEST_CASE(
  "add, resize, copy, max pool and requantize_conv on codes equal their scalar definitions on 1 and 2 threads") {
  std::mt19937 rng(11);
  SUBCASE("add: exact halves, both code types, a multiplier below 2^-31 (the scalar path)") {
    const int64_t n = 100003; // past two parallel grains, and not a multiple of any vector width
    const auto x = random_bytes(rng, n), y = random_bytes(rng, n);
    // 256 * 0.5 / 1 = 128 exactly: every sum is 128 (x + y), half of them a tie for the final 2^-8.
    for (const auto& [sa, sb, so] : std::vector<std::tuple<float, float, float>>{
           {0.5f, 0.5f, 1.0f}, {0.03f, 0.07f, 0.06f}, {0.9f, 1e-13f, 0.01f}, {0.2f, 0.3f, 0.001f}})
      for (bool xs : {false, true})
        for (bool ys : {false, true})
          for (bool os : {false, true}) {
            const auto m = quant::add_multipliers_for(sa, sb, so);
            std::vector<uint8_t> one(static_cast<size_t>(n)), two(one.size());
            quant::add_codes(x.data(), xs, y.data(), ys, n, m, one.data(), os, 1);
            quant::add_codes(x.data(), xs, y.data(), ys, n, m, two.data(), os, 2);
            REQUIRE(one == two);
            for (int64_t i = 0; i < n; ++i) {
              const size_t k = static_cast<size_t>(i);
              const int64_t sum = int64_t{quant::requantize(quant::code_of(x[k], xs), m.a)}
                + quant::requantize(quant::code_of(y[k], ys), m.b);
              const auto s32 = static_cast<int32_t>(
                std::clamp<int64_t>(sum, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
              same(quant::code_of(one[k], os), rq(s32, m.out, os));
            }
          }
  }
  SUBCASE("bilinear resize: Q16 sums requantized once, both code types, a tiny multiplier") {
    const shape_t in{2, 17, 23, 40}, out{2, 34, 46, 40};
    const auto x = random_bytes(rng, numel(in));
    const auto ty = quant::resize_taps(in[1], out[1], true, false), tx = quant::resize_taps(in[2], out[2], true, false);
    for (const auto& [si, so] : std::vector<std::pair<float, float>>{{0.04f, 0.05f}, {1e-6f, 1.0f}, {0.5f, 0.5f}})
      for (bool is : {false, true})
        for (bool os : {false, true}) {
          const auto m = quant::resize_multiplier(si, so);
          std::vector<uint8_t> one(static_cast<size_t>(numel(out))), two(one.size());
          quant::resize_bilinear_codes(x.data(), in, is, ty, tx, m, one.data(), out, os, 1);
          quant::resize_bilinear_codes(x.data(), in, is, ty, tx, m, two.data(), out, os, 2);
          REQUIRE(one == two);
          const int64_t H = in[1], W = in[2], C = in[3];
          auto at = [&](int64_t n, int64_t yy, int64_t xx, int64_t c) {
            return quant::code_of(x[static_cast<size_t>(((n * H + yy) * W + xx) * C + c)], is);
          };
          for (int64_t n = 0; n < out[0]; ++n)
            for (int64_t yy = 0; yy < out[1]; ++yy)
              for (int64_t xx = 0; xx < out[2]; ++xx)
                for (int64_t c = 0; c < C; ++c) {
                  const auto& a = ty[static_cast<size_t>(yy)];
                  const auto& b = tx[static_cast<size_t>(xx)];
                  const int32_t top = at(n, a.lo, b.lo, c) * (256 - b.frac) + at(n, a.lo, b.hi, c) * b.frac;
                  const int32_t bot = at(n, a.hi, b.lo, c) * (256 - b.frac) + at(n, a.hi, b.hi, c) * b.frac;
                  const size_t k = static_cast<size_t>(((n * out[1] + yy) * out[2] + xx) * C + c);
                  same(quant::code_of(one[k], os), rq(top * (256 - a.frac) + bot * a.frac, m, os));
                }
        }
  }
  SUBCASE("copy into a channel slice: every byte value, both code types, a multiplier above 1") {
    const int64_t pixels = 3000, c = 37, stride = 50, coff = 6;
    auto x = random_bytes(rng, pixels * c);
    for (int b = 0; b < 256; ++b) x[static_cast<size_t>(b)] = static_cast<uint8_t>(b);
    for (double r : {0.75, 1.0 / 3, 2.5, 1.0})
      for (bool is : {false, true})
        for (bool os : {false, true}) {
          const auto m = quant::to_fixed(r);
          std::vector<uint8_t> one(static_cast<size_t>(pixels * stride), 9), two(one);
          quant::copy_codes(x.data(), pixels, c, is, m, one.data(), stride, coff, os, 1);
          quant::copy_codes(x.data(), pixels, c, is, m, two.data(), stride, coff, os, 2);
          REQUIRE(one == two);
          for (int64_t p = 0; p < pixels; ++p)
            for (int64_t k = 0; k < stride; ++k) {
              const int32_t got = one[static_cast<size_t>(p * stride + k)];
              if (k < coff || k >= coff + c) {
                same(got, 9);
                continue;
              }
              const int32_t v = quant::code_of(x[static_cast<size_t>(p * c + k - coff)], is);
              same(quant::code_of(static_cast<uint8_t>(got), os), rq(v, m, os));
            }
        }
  }
  SUBCASE("max pool: the window's largest code, 0 for a window wholly in padding") {
    const shape_t in{1, 60, 70, 33}, out{1, 31, 36, 33};
    const auto x = random_bytes(rng, numel(in));
    attrs a;
    a.kernel = {3, 3};
    a.stride = {2, 2};
    a.pads = {1, 1, 2, 2};
    for (bool sgn : {false, true}) {
      std::vector<uint8_t> one(static_cast<size_t>(numel(out))), two(one.size());
      quant::max_pool_codes(x.data(), in, sgn, a, one.data(), out, 1);
      quant::max_pool_codes(x.data(), in, sgn, a, two.data(), out, 2);
      REQUIRE(one == two);
      for (int64_t oy = 0; oy < out[1]; ++oy)
        for (int64_t ox = 0; ox < out[2]; ++ox)
          for (int64_t c = 0; c < in[3]; ++c) {
            int32_t best = std::numeric_limits<int32_t>::min();
            for (int64_t y = oy * 2 - 1; y < oy * 2 + 2; ++y)
              for (int64_t xx = ox * 2 - 1; xx < ox * 2 + 2; ++xx)
                if (y >= 0 && y < in[1] && xx >= 0 && xx < in[2])
                  best = std::max(best, quant::code_of(x[static_cast<size_t>((y * in[2] + xx) * in[3] + c)], sgn));
            if (best == std::numeric_limits<int32_t>::min()) best = 0;
            same(quant::code_of(one[static_cast<size_t>((oy * out[2] + ox) * in[3] + c)], sgn), best);
          }
    }
  }
  SUBCASE("requantize_conv: pixels in blocks and parts, channels that do not divide the block") {
    const int64_t pixels = 4099, co = 24;
    std::vector<int32_t> acc(static_cast<size_t>(pixels * co)), bias(static_cast<size_t>(co));
    std::uniform_int_distribution<int32_t> a_d(-3000000, 3000000), b_d(-20000, 20000);
    for (auto& v : acc) v = a_d(rng);
    for (auto& v : bias) v = b_d(rng);
    std::vector<quant::fixed_multiplier> m, m_neg;
    for (int64_t c = 0; c < co; ++c) {
      m.push_back(quant::to_fixed(1e-5 * static_cast<double>(c + 1)));
      m_neg.push_back(quant::to_fixed(1e-6 * static_cast<double>(c + 1)));
    }
    for (act f : {act::none, act::relu, act::leaky})
      for (bool os : {false, true}) {
        attrs at;
        at.activation = f;
        const auto& neg = f == act::leaky ? m_neg : std::vector<quant::fixed_multiplier>{};
        std::vector<uint8_t> one(acc.size()), two(acc.size());
        quant::requantize_conv(acc.data(), pixels, co, bias, m, neg, at, os, one.data(), 1);
        quant::requantize_conv(acc.data(), pixels, co, bias, m, neg, at, os, two.data(), 2);
        REQUIRE(one == two);
        for (int64_t p = 0; p < pixels; ++p)
          for (int64_t c = 0; c < co; ++c) {
            const size_t k = static_cast<size_t>(p * co + c), ch = static_cast<size_t>(c);
            const int32_t v = acc[k] + bias[ch];
            int32_t q = quant::requantize(v, f == act::leaky && v < 0 ? m_neg[ch] : m[ch]);
            if (f == act::relu) q = std::max(q, 0);
            same(quant::code_of(one[k], os), std::clamp(q, quant::code_lo(os), quant::code_hi(os)));
          }
      }
  }
}
