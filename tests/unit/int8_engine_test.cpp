// int8 inference: oneDNN's int8 convolution against the integer reference,
// NanoDet's convolutions layer by layer in int8 against float32 within a
// bound derived from the rounding, the int8 file round trip and its errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "accel/detect/dnn_detector.hpp"
#include "accel/engine/int8_layers.hpp"
#include "accel/engine/int8_model.hpp"
#include "accel/engine/kernels.hpp"
#include "accel/engine/quantize.hpp"
#include "tests/unit/detections_agree.hpp"
#include "tests/unit/engine_util.hpp"
#include "tests/unit/nanodet_int8_fixture.hpp"
#include "tests/unit/sample_frames.hpp"

using namespace weaver;
using namespace weaver::engine;
namespace fs = std::filesystem;

namespace {

const std::string nanodet = std::string(WEAVER_SOURCE_DIR) + "/tools/data/models/nanodet.json";

struct conv_case {
  int64_t h, w, cin, cout, k, stride, groups;
  bool in_unsigned, out_unsigned;
  act activation;
};

} // namespace

TEST_CASE("conv2d_s8 (oneDNN int8) gives the integer reference's codes within 1") {
  std::mt19937 rng(11);
  for (const auto& c : {conv_case{9, 11, 16, 32, 3, 1, 1, true, true, act::relu},
                        conv_case{8, 8, 24, 24, 3, 2, 24, false, false, act::none}, // depthwise, s8 in and out
                        conv_case{7, 5, 32, 48, 1, 1, 1, true, false, act::none}}) {
    CAPTURE(c.cin);
    CAPTURE(c.groups);
    const int64_t pad = c.k / 2, ho = (c.h + 2 * pad - c.k) / c.stride + 1, wo = (c.w + 2 * pad - c.k) / c.stride + 1;
    attrs a;
    a.kernel = {static_cast<int>(c.k), static_cast<int>(c.k)};
    a.stride = {static_cast<int>(c.stride), static_cast<int>(c.stride)};
    a.pads = {static_cast<int>(pad), static_cast<int>(pad), static_cast<int>(pad), static_cast<int>(pad)};
    a.groups = static_cast<int>(c.groups);
    a.activation = c.activation;
    shape_t is{1, c.h, c.w, c.cin}, ws{c.k, c.k, c.cin / c.groups, c.cout}, os{1, ho, wo, c.cout};
    std::uniform_int_distribution<int> in_d(c.in_unsigned ? 0 : -127, c.in_unsigned ? 255 : 127);
    std::normal_distribution<float> w_d(0.0f, 0.1f);
    std::vector<int32_t> x(static_cast<size_t>(numel(is)));
    for (auto& v : x) v = in_d(rng);
    std::vector<float> wf(static_cast<size_t>(numel(ws))), bf(static_cast<size_t>(c.cout));
    for (auto& v : wf) v = w_d(rng);
    for (auto& v : bf) v = w_d(rng);
    auto qw = quant::quantize_weights(wf.data(), ws);
    const float sx = 0.02f;
    auto qb = quant::quantize_bias(bf.data(), qw.scale, sx);
    // Output scale such that outputs span the code range without all saturating.
    const float sy = 0.02f * std::sqrt(static_cast<float>(c.k * c.k * c.cin / c.groups)) * 0.1f * 127 / 40;
    std::vector<quant::fixed_multiplier> m;
    for (float s : qw.scale) m.push_back(quant::to_fixed(static_cast<double>(sx) * s / sy));
    const int32_t lo = c.out_unsigned ? 0 : -128, hi = c.out_unsigned ? 255 : 127;
    auto want = quant::reference_conv2d(x, is, qw.q, ws, qb, a, os, m, lo, hi);

    std::vector<uint8_t> xin(x.size());
    for (size_t i = 0; i < x.size(); ++i) xin[i] = static_cast<uint8_t>(x[i]); // two's complement for s8
    std::vector<uint8_t> out(static_cast<size_t>(numel(os)));
    kernels::int8_conv q;
    q.in_scale = sx;
    q.in_unsigned = c.in_unsigned;
    q.w = qw.q.data();
    q.w_scale = qw.scale;
    q.bias = qb;
    q.out_codes = true;
    q.out_scale = sy;
    q.out_unsigned = c.out_unsigned;
    kernels::conv2d_s8 conv(is, xin.data(), ws, q, a, os, out.data());
    conv.run();
    int exact = 0, inside = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const int32_t got = c.out_unsigned ? out[i] : static_cast<int8_t>(out[i]);
      REQUIRE(std::abs(got - want[i]) <= 1);
      exact += got == want[i];
      inside += want[i] > lo && want[i] < hi;
    }
    CHECK(exact > 0.95 * static_cast<double>(out.size()));
    CHECK(inside > 0.5 * static_cast<double>(out.size())); // the test is not all saturation
  }
}

TEST_CASE("conv2d_s8's raw accumulators, requantized by requantize_conv, are the integer reference's codes") {
  // The int8 session's conv on codes: oneDNN sums, the integer layer
  // requantizes. Includes accumulators beyond 2^24 (codes near their
  // maximum over 3x3x256 inputs), where oneDNN's float round trip loses units.
  std::mt19937 rng(12);
  for (const auto& c : {conv_case{9, 11, 16, 32, 3, 1, 1, true, true, act::relu},
                        conv_case{8, 8, 24, 24, 3, 2, 24, false, false, act::leaky}, // depthwise, s8 in and out
                        conv_case{7, 5, 32, 48, 1, 1, 1, true, false, act::none},
                        conv_case{5, 6, 256, 16, 3, 1, 1, true, false, act::none}}) {
    CAPTURE(c.cin);
    const bool big = c.cin == 256;
    const int64_t pad = c.k / 2, ho = (c.h + 2 * pad - c.k) / c.stride + 1, wo = (c.w + 2 * pad - c.k) / c.stride + 1;
    attrs a;
    a.kernel = {static_cast<int>(c.k), static_cast<int>(c.k)};
    a.stride = {static_cast<int>(c.stride), static_cast<int>(c.stride)};
    a.pads = {static_cast<int>(pad), static_cast<int>(pad), static_cast<int>(pad), static_cast<int>(pad)};
    a.groups = static_cast<int>(c.groups);
    a.activation = c.activation;
    shape_t is{1, c.h, c.w, c.cin}, ws{c.k, c.k, c.cin / c.groups, c.cout}, os{1, ho, wo, c.cout};
    std::uniform_int_distribution<int> in_d(c.in_unsigned ? (big ? 250 : 0) : -128, c.in_unsigned ? 255 : 127);
    std::normal_distribution<float> w_d(big ? 1.0f : 0.0f, 0.1f);
    std::vector<int32_t> x(static_cast<size_t>(numel(is)));
    for (auto& v : x) v = in_d(rng);
    std::vector<float> wf(static_cast<size_t>(numel(ws))), bf(static_cast<size_t>(c.cout));
    for (auto& v : wf) v = w_d(rng);
    for (auto& v : bf) v = w_d(rng);
    auto qw = quant::quantize_weights(wf.data(), ws);
    const float sx = 0.02f;
    auto qb = quant::quantize_bias(bf.data(), qw.scale, sx);
    const float sy = big ? 500000 * sx * qw.scale[0]
                         : 0.02f * std::sqrt(static_cast<float>(c.k * c.k * c.cin / c.groups)) * 0.1f * 127 / 40;
    std::vector<quant::fixed_multiplier> m, m_neg;
    quant::conv_multipliers(sx, qw.scale, sy, a, m, m_neg);
    auto want = quant::reference_conv2d(x, is, qw.q, ws, qb, a, os, m, quant::code_lo(!c.out_unsigned),
                                        quant::code_hi(!c.out_unsigned), m_neg);
    std::vector<uint8_t> xin(x.size());
    for (size_t i = 0; i < x.size(); ++i) xin[i] = static_cast<uint8_t>(x[i]);
    kernels::int8_conv q;
    q.in_unsigned = c.in_unsigned;
    q.w = qw.q.data();
    q.w_scale = qw.scale;
    q.raw_acc = true;
    std::vector<int32_t> acc(static_cast<size_t>(numel(os)));
    kernels::conv2d_s8 conv(is, xin.data(), ws, q, a, os, nullptr);
    conv.run_into(acc.data());
    if (big) CHECK(*std::max_element(acc.begin(), acc.end()) > (1 << 24));
    // The sums themselves, exactly: the reference with M = 1, no bias, no
    // activation, no saturation.
    attrs plain = a;
    plain.activation = act::none;
    const auto sums =
      quant::reference_conv2d(x, is, qw.q, ws, {}, plain, os,
                              std::vector<quant::fixed_multiplier>(static_cast<size_t>(c.cout), quant::to_fixed(1.0)),
                              std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    // oneDNN 2.6 passes s32 results through f32: exact up to 2^24, beyond
    // that rounded to 24 significant bits (measured here). NanoDet's
    // accumulators stay below (the per-layer kernel test would show it).
    size_t rounded = 0;
    for (size_t i = 0; i < acc.size(); ++i) {
      if (std::abs(static_cast<int64_t>(sums[i])) <= (1 << 24)) {
        REQUIRE(acc[i] == sums[i]);
        continue;
      }
      REQUIRE(static_cast<float>(sums[i]) == static_cast<float>(acc[i]));
      rounded += acc[i] != sums[i];
    }
    if (big) MESSAGE(rounded << " of " << acc.size() << " sums beyond 2^24 rounded to float by oneDNN");
    std::vector<uint8_t> out(acc.size());
    quant::requantize_conv(acc.data(), ho * wo, c.cout, qb, m, m_neg, a, !c.out_unsigned, out.data());
    int inside = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      REQUIRE(quant::code_of(out[i], !c.out_unsigned) == want[i]);
      inside += want[i] > quant::code_lo(!c.out_unsigned) && want[i] < quant::code_hi(!c.out_unsigned);
    }
    CHECK(inside > 0.3 * static_cast<double>(out.size())); // not all saturation
  }
}

TEST_CASE("quantize_codes rounds and saturates as oneDNN does; dequantize_codes inverts it") {
  const std::vector<float> x = {0.0f, 0.25f, 0.35f, -0.25f, 100.0f, -100.0f};
  std::vector<int8_t> s(x.size());
  kernels::quantize_codes(x.data(), 6, 0.1f, false, s.data());
  CHECK(s == std::vector<int8_t>{0, 2, 4, -2, 127, -128}); // 2.5 -> 2 (even), 3.5 -> 4
  std::vector<uint8_t> u(x.size());
  kernels::quantize_codes(x.data(), 6, 0.1f, true, u.data());
  CHECK(u == std::vector<uint8_t>{0, 2, 4, 0, 255, 0});
  std::vector<float> back(6);
  kernels::dequantize_codes(u.data(), 6, 0.1f, true, back.data());
  CHECK(back[4] == doctest::Approx(25.5f));
  // Ties to even across the range, saturation at both ends.
  std::vector<float> y;
  for (int i = -300; i <= 300; ++i) y.push_back(0.5f * static_cast<float>(i) * 0.25f);
  std::vector<int8_t> q(y.size());
  kernels::quantize_codes(y.data(), static_cast<int64_t>(y.size()), 0.25f, false, q.data());
  for (size_t i = 0; i < y.size(); ++i) {
    const float want = std::clamp(std::nearbyint(y[i] / 0.25f), -128.f, 127.f); // default mode: ties to even
    REQUIRE(q[i] == static_cast<int8_t>(want));
  }
}

namespace {

nanodet_int8& fixture() {
  static nanodet_int8 f = calibrated_nanodet(5); // frames 0, 40, ..., 160
  return f;
}

} // namespace

TEST_CASE("NanoDet: every convolution in int8 stays within its rounding bound of float32") {
  auto& f = fixture();
  const graph& g = f.f32->ir();
  session s(f.f32);
  f.det->fill_input(f.eval_frame, s.input());
  s.run();
  int layers = 0;
  for (const auto& n : g.nodes) {
    if (n.kind != op::conv2d || n.a.activation == act::exp) continue;
    CAPTURE(n.name);
    const auto& iv = g.values[static_cast<size_t>(n.in[0])];
    const auto& ov = g.values[static_cast<size_t>(n.out[0])];
    const float* x = s.value(iv.name);
    const float* y = s.value(ov.name);
    REQUIRE(x);
    REQUIRE(y);
    const auto& in_q = f.table.acts.at(iv.name);
    const auto& p = f.table.convs.at(n.name);
    const int64_t nin = numel(iv.shape), nout = numel(ov.shape), co = p.filter[3];
    const int64_t k = p.filter[0] * p.filter[1] * p.filter[2]; // products per output
    std::vector<int8_t> codes(static_cast<size_t>(nin));
    kernels::quantize_codes(x, nin, in_q.scale, in_q.is_unsigned, codes.data());
    std::vector<float> y8(static_cast<size_t>(nout));
    kernels::int8_conv q;
    q.in_scale = in_q.scale;
    q.in_unsigned = in_q.is_unsigned;
    q.w = p.w.data();
    q.w_scale = p.scale;
    q.bias = p.bias;
    kernels::conv2d_s8 conv(iv.shape, codes.data(), p.filter, q, n.a, ov.shape, y8.data());
    conv.run();
    // Each output sums k products x*w; rounding moves x by at most sx/2 (more
    // where x leaves the calibrated range: clipped) and w by sw/2, the bias
    // by sx*sw/2. Worst case, all errors aligned (activations are
    // 1-Lipschitz): k * (max|x| * sw/2 + max|w| * sx/2 + sx*sw/4) + sx*sw/2.
    // Expected case, errors independent and uniform: variance
    // k * (E[x^2] sw^2 + E[w^2] sx^2) / 12 per output; the measured mean
    // square error must stay within 4x of it (2x in RMS).
    float xmax = 0, x2 = 0, clip = 0;
    const float lo = in_q.is_unsigned ? 0.0f : -128 * in_q.scale, hi = (in_q.is_unsigned ? 255 : 127) * in_q.scale;
    for (int64_t i = 0; i < nin; ++i) {
      xmax = std::max(xmax, std::fabs(x[i]));
      x2 += x[i] * x[i];
      clip = std::max(clip, std::max(x[i] - hi, lo - x[i]));
    }
    x2 /= static_cast<float>(nin);
    const float sx = in_q.scale;
    double predicted = 0, measured = 0;
    for (int64_t c = 0; c < co; ++c) {
      const float sw = p.scale[static_cast<size_t>(c)];
      double w2 = 0, wmax = 0;
      for (int64_t i = c; i < numel(p.filter); i += co) {
        const double w = p.w[static_cast<size_t>(i)] * static_cast<double>(sw);
        w2 += w * w;
        wmax = std::max(wmax, std::fabs(w));
      }
      w2 /= static_cast<double>(k);
      const double bound = k * (xmax * sw / 2 + wmax * (sx / 2 + clip) + sx * sw / 4.0) + sx * sw / 2.0;
      for (int64_t i = c; i < nout; i += co) {
        const double d = static_cast<double>(y8[static_cast<size_t>(i)]) - y[i];
        REQUIRE(std::fabs(d) <= bound * 1.001 + 1e-5);
        measured += d * d;
      }
      predicted += (nout / co) * k * (x2 * sw * sw + w2 * sx * sx) / 12.0;
    }
    CAPTURE(measured / nout);
    CAPTURE(predicted / nout);
    CHECK(measured <= 4 * predicted + 1e-12 * nout);
    ++layers;
  }
  CHECK(layers > 20);
}

TEST_CASE("NanoDet int8 session: outputs near float32; int8 file round trip; clear errors") {
  auto& f = fixture();
  auto dir = test_dir("int8");
  const std::string path = (dir / "nanodet.int8.json").string();
  f.table.source = nanodet;
  save_int8(f.table, path);
  auto loaded = load_int8(path);
  CHECK(loaded.acts.size() == f.table.acts.size());
  REQUIRE(loaded.convs.size() == f.table.convs.size());
  for (const auto& [name, c] : f.table.convs) {
    CHECK(loaded.convs.at(name).w == c.w);
    CHECK(loaded.convs.at(name).bias == c.bias);
    CHECK(loaded.convs.at(name).scale == c.scale);
  }
  auto m8 = with_int8(f.f32, std::make_shared<int8_table>(loaded));
  REQUIRE(m8->int8());
  session s32(f.f32), s8(m8);
  f.det->fill_input(f.eval_frame, s32.input());
  f.det->fill_input(f.eval_frame, s8.input());
  s32.run();
  s8.run();
  for (size_t i = 0; i < s32.outputs(); ++i) {
    CAPTURE(s32.output_name(i));
    const int64_t n = numel(s32.output_shape(i));
    double d2 = 0, y2 = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double d = s8.output(i)[k] - s32.output(i)[k];
      d2 += d * d;
      y2 += static_cast<double>(s32.output(i)[k]) * s32.output(i)[k];
    }
    // A regression guard, not a derived bound: over 34 int8 layers the error
    // measured 0.06-0.12 of the signal's RMS on this frame (the coarsest
    // head's scores the most); the detections are what matter, see
    // eval_detector --int8 in the README (recall/precision within 0.01).
    CHECK(std::sqrt(d2 / y2) < 0.2);
  }
  // The detector's embedding map: computed only as codes, read as floats.
  for (const auto& [name, a] : f.table.acts) {
    shape_t sh;
    const float* v8 = s8.value(name, &sh);
    const float* v32 = s32.value(name);
    if (!v8 || !v32) continue;
    double md = 0;
    for (int64_t k = 0; k < numel(sh); ++k) md = std::max(md, std::fabs(static_cast<double>(v8[k]) - v32[k]));
    CAPTURE(name);
    CHECK(md < 0.5 * (a.is_unsigned ? 255 : 127) * a.scale); // same tensor, not garbage
  }

  // A float model where an int8 file is expected, another version, a model
  // that does not match.
  CHECK_THROWS_WITH_AS(load_int8(nanodet), doctest::Contains("not a weaver-int8 file"), model_error);
  {
    auto text = read_text(path);
    text.replace(text.find("\"version\":1"), 11, "\"version\":7");
    std::ofstream(dir / "v7.json") << text;
  }
  CHECK_THROWS_WITH_AS(load_int8((dir / "v7.json").string()), doctest::Contains("version 7"), model_error);
  auto broken = loaded;
  broken.convs.erase(broken.convs.begin());
  CHECK_THROWS_WITH_AS(with_int8(f.f32, std::make_shared<int8_table>(broken)), doctest::Contains("no int8 weights"),
                       model_error);
  fs::remove_all(dir);
}

TEST_CASE("NanoDet int8: the fast mode (oneDNN's fused requantization) detects what the exact mode detects") {
  auto& f = fixture();
  auto table = std::make_shared<int8_table>(f.table);
  auto exact = with_int8(f.f32, table, true), fast = with_int8(f.f32, table); // fast: the default
  REQUIRE(exact->int8_exact());
  REQUIRE_FALSE(fast->int8_exact());
  session se(exact), sf(fast);
  const auto frames = sample_frames(16, 40); // frames 440..600: after the calibration frames
  const auto& tensors = f.det->host_tensors(frames[0].size());
  size_t matched = 0, total = 0, differ = 0;
  for (size_t k = 11; k < frames.size(); ++k) {
    f.det->fill_input(frames[k], se.input());
    f.det->fill_input(frames[k], sf.input());
    se.run();
    sf.run();
    std::vector<const float*> te, tf;
    for (const auto& t : tensors) {
      te.push_back(se.value(t.name));
      tf.push_back(sf.value(t.name));
      REQUIRE(tf.back());
    }
    CAPTURE(k * 40);
    check_detections_close(f.det->decode(frames[k].size(), te), f.det->decode(frames[k].size(), tf), matched, total);
    // The two modes do compute differently (float against fixed-point rounding).
    for (const auto& v : f.f32->ir().values) {
      code_type ct{};
      const uint8_t *a = se.value_codes(v.name, &ct), *b = sf.value_codes(v.name);
      if (a && b)
        for (int64_t i = 0; i < numel(v.shape); ++i) differ += a[i] != b[i];
    }
  }
  MESSAGE(matched << " of " << total << " exact-mode detections matched by the fast mode; " << differ
                  << " codes differ");
  CHECK(total >= 10);
  CHECK(differ > 0);
}
