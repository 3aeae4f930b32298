// The weaver_dnn kernel's C-simulation (accel/hls/weaver_dnn.cpp) through
// its top function: convolutions bit-exact against the engine's integer
// reference (quant::reference_conv2d) on random layers and on every
// convolution of NanoDet; pooling, add, resize and copy bit-exact against the
// engine's integer layers (int8_layers.hpp); NanoDet and yolov2-tiny whole,
// every layer's codes equal to the int8 CPU session's; programs the kernel
// must refuse.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <utility>

#include "accel/detect/dnn_detector.hpp"
#include "accel/engine/int8_layers.hpp"
#include "accel/engine/int8_model.hpp"
#include "accel/engine/int8_plan.hpp"
#include "accel/engine/kernels.hpp"
#include "accel/hls_program.hpp"
#include "tests/unit/detections_agree.hpp"
#include "tests/unit/engine_util.hpp"
#include "tests/unit/nanodet_int8_fixture.hpp"
#include "tests/unit/sample_frames.hpp"

using namespace weaver;
using namespace weaver::engine;

namespace {

struct conv_layer {
  shape_t is, ws, os;
  attrs a;
  std::vector<int32_t> x; // input codes
  bool in_signed = false, out_signed = false;
  std::vector<int8_t> w;
  std::vector<int32_t> bias;
  std::vector<quant::fixed_multiplier> m, m_neg;
};

/// The kernel on one conv layer: the input image in the input space, the
/// output in the work space, one image.
std::vector<int32_t> kernel_conv(const conv_layer& c, int batch = 1) {
  hls_program p;
  const auto in = hls_view(hls::space_input, 0, c.is, c.in_signed);
  const auto out = hls_view(hls::space_work, 0, c.os, c.out_signed);
  p.add_conv(in, out, c.a, c.w, c.bias, c.m, c.m_neg);
  const auto in_bytes = static_cast<uint32_t>(numel(c.is)), out_bytes = static_cast<uint32_t>(numel(c.os));
  std::vector<uint8_t> input(static_cast<size_t>(in_bytes) * batch), output(hls::status_bytes + out_bytes * batch);
  for (int b = 0; b < batch; ++b)
    for (size_t i = 0; i < c.x.size(); ++i) input[b * in_bytes + i] = static_cast<uint8_t>(c.x[i]);
  hls_run(p.program(in_bytes, out_bytes, in_bytes), p.weights(), input.data(), output.data(),
          static_cast<uint32_t>(batch));
  std::vector<int32_t> r;
  for (int b = 0; b < batch; ++b)
    for (uint32_t i = 0; i < out_bytes; ++i) {
      const uint8_t v = output[hls::status_bytes + b * out_bytes + i];
      r.push_back(c.out_signed ? static_cast<int8_t>(v) : v);
    }
  return r;
}

std::vector<int32_t> reference(const conv_layer& c) {
  return quant::reference_conv2d(c.x, c.is, c.w, c.ws, c.bias, c.a, c.os, c.m, code_lo(c.out_signed),
                                 code_hi(c.out_signed), c.m_neg);
}

int64_t out_size(int64_t in, int k, int s, int d, int p0, int p1) { return (in + p0 + p1 - (k - 1) * d - 1) / s + 1; }

} // namespace

TEST_CASE("weaver_dnn C-sim convolution is bit-exact against the integer reference on random layers") {
  std::mt19937 rng(20);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int layers = 0, inside = 0, total = 0;
  for (int trial = 0; trial < 60; ++trial) {
    conv_layer c;
    const int k = std::vector<int>{1, 3, 5, 7}[static_cast<size_t>(uni(0, 3))];
    const int d = k <= 3 ? uni(1, 3) : 1, s = uni(1, 3);
    const int ext = (k - 1) * d + 1;
    if (ext > hls::max_window) continue;
    const int mode = uni(0, 2); // dense, grouped, depthwise
    const int groups = mode == 0 ? 1 : mode == 1 ? uni(2, 4) : uni(2, 40);
    const int cg = mode == 2 ? 1 : uni(1, 40), cog = mode == 2 ? 1 : uni(1, 40);
    c.is = {1, uni(ext, 45), uni(ext, 45), cg * groups};
    c.a.kernel = {k, k};
    c.a.stride = {s, s};
    c.a.dilation = {d, d};
    c.a.pads = {uni(0, k - 1), uni(0, k - 1), uni(0, k - 1), uni(0, k - 1)};
    c.a.groups = groups;
    c.a.activation = std::vector<act>{act::none, act::relu, act::leaky}[static_cast<size_t>(uni(0, 2))];
    c.ws = {k, k, cg, cog * groups};
    c.os = {1, out_size(c.is[1], k, s, d, c.a.pads[0], c.a.pads[2]),
            out_size(c.is[2], k, s, d, c.a.pads[1], c.a.pads[3]), cog * groups};
    if (c.os[1] <= 0 || c.os[2] <= 0) continue;
    c.in_signed = uni(0, 1);
    c.out_signed = uni(0, 1);
    for (int64_t i = 0; i < numel(c.is); ++i) c.x.push_back(c.in_signed ? uni(-128, 127) : uni(0, 255));
    std::normal_distribution<float> wd(0.0f, 0.1f);
    std::vector<float> wf(static_cast<size_t>(numel(c.ws))), bf(static_cast<size_t>(c.ws[3]));
    for (auto& v : wf) v = wd(rng);
    for (auto& v : bf) v = wd(rng);
    auto qw = quant::quantize_weights(wf.data(), c.ws);
    c.w = qw.q;
    const float sx = 0.02f;
    if (uni(0, 3)) c.bias = quant::quantize_bias(bf.data(), qw.scale, sx);
    // Output scale spanning the codes: sqrt(products) * sx * 0.1 * ~3 sigma.
    const float sy = sx * std::sqrt(static_cast<float>(k * k * cg)) * 0.1f * 127 / 40;
    for (float sw : qw.scale) {
      c.m.push_back(quant::to_fixed(static_cast<double>(sx) * sw / sy));
      c.m_neg.push_back(quant::to_fixed(static_cast<double>(sx) * sw / sy * 0.1));
    }
    if (c.a.activation != act::leaky) c.m_neg.clear();
    CAPTURE(trial);
    CAPTURE(to_string(c.is));
    CAPTURE(to_string(c.ws));
    CAPTURE(to_string(c.os));
    CAPTURE(groups);
    CAPTURE(s);
    CAPTURE(d);
    const auto want = reference(c);
    const auto got = kernel_conv(c);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      REQUIRE(got[i] == want[i]);
      inside += want[i] > code_lo(c.out_signed) && want[i] < code_hi(c.out_signed);
    }
    total += static_cast<int>(got.size());
    ++layers;
  }
  CHECK(layers >= 40);
  CHECK(inside > total / 2); // not all saturation
}

TEST_CASE("weaver_dnn C-sim: a batch of images gives each image's result") {
  conv_layer c;
  c.is = {1, 9, 7, 20};
  c.ws = {3, 3, 20, 18};
  c.os = {1, 9, 7, 18};
  c.a.kernel = {3, 3};
  c.a.pads = {1, 1, 1, 1};
  c.a.activation = act::relu;
  std::mt19937 rng(3);
  for (int64_t i = 0; i < numel(c.is); ++i) c.x.push_back(static_cast<int32_t>(rng() % 256));
  for (int64_t i = 0; i < numel(c.ws); ++i) c.w.push_back(static_cast<int8_t>(static_cast<int>(rng() % 255) - 127));
  c.m.assign(18, quant::to_fixed(1.0 / 4000));
  const auto one = reference(c);
  const auto three = kernel_conv(c, 3);
  REQUIRE(three.size() == 3 * one.size());
  for (size_t i = 0; i < three.size(); ++i) REQUIRE(three[i] == one[i % one.size()]);
}

namespace {

// Calibrated on frames 0 and 40 only (fewer than int8_engine_test: faster).
nanodet_int8& nanodet() {
  static nanodet_int8 f = calibrated_nanodet(2);
  return f;
}

} // namespace

namespace {

/// Every conv of a calibrated float model, on the session's (float) inputs
/// quantized as the int8 session does: the kernel's codes against the
/// reference's. Returns the number of convs checked.
int check_every_conv(const graph& g, const int8_table& table, session& s) {
  int layers = 0;
  for (const auto& n : g.nodes) {
    if (n.kind != op::conv2d) continue;
    CAPTURE(n.name);
    const auto& iv = g.values[static_cast<size_t>(n.in[0])];
    const auto& ov = g.values[static_cast<size_t>(n.out[0])];
    const auto& in_q = table.acts.at(iv.name);
    const auto& out_q = table.acts.at(ov.name);
    const auto& p = table.convs.at(n.name);
    conv_layer c;
    c.is = iv.shape;
    c.ws = p.filter;
    c.os = ov.shape;
    c.a = n.a;
    c.in_signed = !in_q.is_unsigned;
    c.out_signed = !out_q.is_unsigned;
    const int64_t nin = numel(iv.shape);
    std::vector<uint8_t> codes(static_cast<size_t>(nin));
    kernels::quantize_codes(s.value(iv.name), nin, in_q.scale, in_q.is_unsigned, codes.data());
    for (uint8_t v : codes) c.x.push_back(c.in_signed ? static_cast<int8_t>(v) : v);
    c.w = p.w;
    c.bias = p.bias;
    for (float sw : p.scale) {
      const double mul = static_cast<double>(in_q.scale) * sw / out_q.scale;
      c.m.push_back(quant::to_fixed(mul));
      if (n.a.activation == act::leaky) c.m_neg.push_back(quant::to_fixed(mul * n.a.alpha));
    }
    const auto want = reference(c);
    const auto got = kernel_conv(c);
    REQUIRE(got.size() == want.size());
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i];
    CHECK(differ == 0);
    ++layers;
  }
  return layers;
}

} // namespace

TEST_CASE("weaver_dnn C-sim is bit-exact against the integer reference on every convolution of NanoDet") {
  auto& f = nanodet();
  session s(f.f32);
  f.det->fill_input(f.eval_frame, s.input());
  s.run();
  CHECK(check_every_conv(f.f32->ir(), f.table, s) == 34);
  // A float model is not the kernel's.
  CHECK_THROWS_WITH_AS(hls_network(f.f32), doctest::Contains("int8 models only"), model_error);
}

namespace {

// Darknet's cfg at 160x160 with random weights (as engine_darknet_test),
// calibrated on two random images; `input` fills a third.
struct yolo_tiny {
  std::shared_ptr<const model> m;
  int8_table table;
  std::vector<float> input;
};

yolo_tiny& yolov2_tiny() {
  static yolo_tiny y = [] {
    yolo_tiny r;
    const auto dir = test_dir("hls_yolo");
    std::ifstream src("/usr/share/darknet/cfg/yolov2-tiny.cfg");
    REQUIRE(src);
    std::ofstream cfg(dir / "v2t.cfg");
    for (std::string line; std::getline(src, line);) {
      if (line.rfind("width", 0) == 0) line = "width=160";
      if (line.rfind("height", 0) == 0) line = "height=160";
      cfg << line << "\n";
    }
    cfg.close();
    const auto weights = dir / "v2t.weights";
    const std::string cmd = std::string("ASAN_OPTIONS=detect_leaks=0 ") + WEAVER_DARKNET_REFERENCE + " --cfg "
      + (dir / "v2t.cfg").string() + " --write-random-weights " + weights.string() + " --seed 5 >"
      + (dir / "w.log").string() + " 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    r.m = model::load((dir / "v2t.cfg").string(), weights.string());
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    int calls = 0;
    r.table = calibrate(r.m, [&](float* in) {
      if (calls++ == 2) return false;
      for (int64_t i = 0; i < numel(r.m->input_shape()); ++i) in[i] = u(rng);
      return true;
    });
    for (int64_t i = 0; i < numel(r.m->input_shape()); ++i) r.input.push_back(u(rng));
    return r;
  }();
  return y;
}

} // namespace

TEST_CASE("weaver_dnn C-sim is bit-exact against the integer reference on every convolution of yolov2-tiny") {
  auto& y = yolov2_tiny();
  session s(y.m);
  std::copy(y.input.begin(), y.input.end(), s.input());
  s.run();
  CHECK(check_every_conv(y.m->ir(), y.table, s) == 9);
}

namespace {

/// Random codes and their real values at `scale`.
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

/// Runs a one-layer program; the inputs sit one after another in the input
/// space (64-byte aligned), the output at 0 of the work space.
std::vector<int32_t> run_one(hls_program& p, const std::vector<const coded*>& ins, const shape_t& os, bool out_signed) {
  std::vector<uint8_t> input;
  for (const auto* c : ins) {
    input.resize((input.size() + 63) / 64 * 64);
    input.insert(input.end(), c->codes.begin(), c->codes.end());
  }
  const auto out_bytes = static_cast<uint32_t>(numel(os));
  std::vector<uint8_t> output(hls::status_bytes + out_bytes);
  const auto in_bytes = static_cast<uint32_t>(input.size());
  hls_run(p.program(in_bytes, out_bytes, in_bytes), p.weights(), input.data(), output.data(), 1);
  std::vector<int32_t> r;
  for (uint32_t i = 0; i < out_bytes; ++i) {
    const uint8_t v = output[hls::status_bytes + i];
    r.push_back(out_signed ? static_cast<int8_t>(v) : v);
  }
  return r;
}

std::vector<int32_t> as_codes(const std::vector<uint8_t>& b, bool is_signed) {
  std::vector<int32_t> r;
  for (uint8_t v : b) r.push_back(quant::code_of(v, is_signed));
  return r;
}

} // namespace

TEST_CASE("weaver_dnn C-sim: max pool, add, bilinear resize and copy are bit-exact against the integer layers") {
  std::mt19937 rng(7);
  SUBCASE("max pool keeps the codes (pad never wins)") {
    for (bool sgn : {true, false}) {
      auto x = random_coded(rng, {1, 13, 11, 20}, sgn, 0.05f);
      attrs a;
      a.kernel = {3, 3};
      a.stride = {2, 2};
      a.pads = {1, 1, 1, 1};
      const shape_t os{1, 7, 6, 20};
      hls_program p;
      p.add_maxpool(hls_view(hls::space_input, 0, x.shape, sgn), hls_view(hls::space_work, 0, os, sgn), a);
      std::vector<uint8_t> want(static_cast<size_t>(numel(os)));
      quant::max_pool_codes(x.codes.data(), x.shape, sgn, a, want.data(), os);
      CHECK(run_one(p, {&x}, os, sgn) == as_codes(want, sgn));
    }
  }
  SUBCASE("add of two scales and types") {
    const shape_t s{1, 9, 10, 24};
    for (const auto& [sa, sb, so, out_signed] : std::vector<std::tuple<float, float, float, bool>>{
           {0.03f, 0.07f, 0.06f, true}, {0.05f, 0.02f, 0.04f, false}}) {
      auto a = random_coded(rng, s, false, sa), b = random_coded(rng, s, true, sb);
      hls_program p;
      p.add_add(hls_view(hls::space_input, 0, s, false), a.scale,
                hls_view(hls::space_input, static_cast<int32_t>((numel(s) + 63) / 64 * 64), s, true), b.scale,
                hls_view(hls::space_work, 0, s, out_signed), so);
      std::vector<uint8_t> want(static_cast<size_t>(numel(s)));
      quant::add_codes(a.codes.data(), false, b.codes.data(), true, numel(s), quant::add_multipliers_for(sa, sb, so),
                       want.data(), out_signed);
      CHECK(run_one(p, {&a, &b}, s, out_signed) == as_codes(want, out_signed));
    }
  }
  SUBCASE("bilinear resize up and down, half pixel, align corners and legacy") {
    for (const auto& [in, out, half, corners] :
         std::vector<std::tuple<shape_t, shape_t, bool, bool>>{{{1, 13, 13, 16}, {1, 26, 26, 16}, false, false},
                                                               {{1, 26, 26, 8}, {1, 13, 13, 8}, true, false},
                                                               {{1, 7, 9, 8}, {1, 12, 20, 8}, true, false},
                                                               {{1, 7, 9, 8}, {1, 13, 17, 8}, false, true}}) {
      for (bool sgn : {false, true}) {
        auto x = random_coded(rng, in, sgn, 0.04f);
        const float so = 0.05f;
        hls_program p;
        p.add_resize_bilinear(hls_view(hls::space_input, 0, in, sgn), x.scale, hls_view(hls::space_work, 0, out, sgn),
                              so, half, corners);
        std::vector<uint8_t> want(static_cast<size_t>(numel(out)));
        quant::resize_bilinear_codes(x.codes.data(), in, sgn, quant::resize_taps(in[1], out[1], half, corners),
                                     quant::resize_taps(in[2], out[2], half, corners),
                                     quant::resize_multiplier(x.scale, so), want.data(), out, sgn);
        CHECK(run_one(p, {&x}, out, sgn) == as_codes(want, sgn));
      }
    }
  }
  SUBCASE("copy into a channel slice (concat)") {
    const shape_t s{1, 5, 6, 12}, os{1, 5, 6, 30};
    auto x = random_coded(rng, s, true, 0.02f);
    hls_program p;
    p.add_copy(hls_view(hls::space_input, 0, s, true), x.scale, hls_view(hls::space_work, 0, s, false, 30, 9), 0.03f);
    std::vector<uint8_t> want(static_cast<size_t>(numel(os)), 0);
    quant::copy_codes(x.codes.data(), 30, 12, true, quant::to_fixed(static_cast<double>(x.scale) / 0.03f), want.data(),
                      30, 9, false);
    CHECK(run_one(p, {&x}, os, false) == as_codes(want, false)); // outside the slice: untouched zeros
  }
}

namespace {

/// Every value the int8 plan computes on codes: the kernel's codes (whole
/// network on the C-simulation) against the int8 CPU session's, after one
/// run of both on the same input. Returns the number of values compared;
/// each value's differing codes are reported.
int check_every_layer(const std::shared_ptr<const model>& m8, const std::function<void(float*)>& fill) {
  hls_network net(m8);
  session s8(m8);
  fill(net.input());
  fill(s8.input());
  net.run();
  s8.run();
  const graph& g = m8->ir();
  int values = 0;
  size_t bad_values = 0;
  for (const auto& v : g.values) {
    code_type ct{}, kt{};
    const uint8_t* cpu = s8.value_codes(v.name, &ct);
    const uint8_t* fpga = net.codes(v.name, &kt);
    CHECK((cpu == nullptr) == (fpga == nullptr)); // the same plan on both sides
    if (!cpu || !fpga) continue;
    CAPTURE(v.name);
    REQUIRE(ct.scale == kt.scale);
    REQUIRE(ct.is_signed == kt.is_signed);
    size_t differ = 0;
    int worst = 0;
    for (int64_t i = 0; i < numel(v.shape); ++i)
      if (cpu[i] != fpga[i]) {
        ++differ;
        worst = std::max(worst, std::abs(quant::code_of(cpu[i], ct.is_signed) - quant::code_of(fpga[i], ct.is_signed)));
      }
    if (differ) MESSAGE(v.name << ": " << differ << " of " << numel(v.shape) << " codes differ, by up to " << worst);
    bad_values += differ > 0;
    ++values;
  }
  CHECK(bad_values == 0);
  return values;
}

} // namespace

TEST_CASE("NanoDet int8: the kernel's codes equal the int8 CPU session's on every layer") {
  // A small input (192x160: input_scale 0.25) keeps the C-simulation short.
  static nanodet_int8 f = calibrated_nanodet(2, 0.25f);
  auto m8 = with_int8(f.f32, std::make_shared<int8_table>(f.table), true); // exact: the kernel's semantics
  const int values = check_every_layer(m8, [&](float* in) { f.det->fill_input(f.eval_frame, in); });
  CHECK(values > 50); // 34 convs, pools, adds, resizes, concats
}

TEST_CASE("yolov2-tiny int8: the kernel's codes equal the int8 CPU session's on every layer") {
  auto& y = yolov2_tiny();
  auto m8 = with_int8(y.m, std::make_shared<int8_table>(y.table), true); // exact
  // 9 convs and 6 max pools on codes; the region layer on the host (before:
  // refused as a node the kernel's host side did not have).
  CHECK(check_every_layer(m8, [&](float* in) { std::copy(y.input.begin(), y.input.end(), in); }) == 16);
}

TEST_CASE("weaver_dnn C-sim refuses programs it cannot run, naming the reason and the layer") {
  conv_layer c;
  c.is = {1, 8, 8, 4};
  c.ws = {3, 3, 4, 4};
  c.os = {1, 8, 8, 4};
  c.a.kernel = {3, 3};
  c.a.pads = {1, 1, 1, 1};
  c.x.assign(static_cast<size_t>(numel(c.is)), 1);
  c.w.assign(static_cast<size_t>(numel(c.ws)), 1);
  c.m.assign(4, quant::to_fixed(0.5));
  const auto in = hls_view(hls::space_input, 0, c.is, false), out = hls_view(hls::space_work, 0, c.os, false);
  std::vector<uint8_t> input(256, 1), output(hls::status_bytes + 256);
  auto expect = [&](hls_program& p, const std::vector<uint8_t>& prog, const std::string& what) {
    try {
      hls_run(prog, p.weights(), input.data(), output.data(), 1);
      FAIL("ran: " << what);
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(what) != std::string::npos);
    }
  };
  {
    hls_program p;
    p.add_conv(in, out, c.a, c.w, c.bias, c.m, {});
    auto prog = p.program(256, 256, 256);
    prog[4] = 1; // version 1: the float protocol's
    expect(p, prog, "another protocol");
  }
  {
    hls_program p;
    attrs big = c.a;
    big.kernel = {9, 9};
    big.pads = {4, 4, 4, 4};
    p.add_conv(in, out, big, std::vector<int8_t>(9 * 9 * 16, 1), {}, c.m, {});
    expect(p, p.program(256, 256, 256), "larger than the kernel's on-chip buffers (layer 0)");
  }
  {
    hls_program p;
    p.add_conv(in, out, c.a, c.w, c.bias, c.m, {});
    p.add_conv(in, hls_view(hls::space_work, 200, c.os, false), c.a, c.w, c.bias, c.m, {});
    expect(p, p.program(256, 256, 256), "beyond its buffer (layer 1)"); // 200 + 256 > the 256-byte block
  }
  {
    hls_program p;
    p.add_conv(in, out, c.a, c.w, c.bias, c.m, {});
    p.descriptors()[0].op = 42;
    expect(p, p.program(256, 256, 256), "malformed layer (layer 0)");
  }
  {
    hls_program p;
    p.add_conv(in, out, c.a, c.w, c.bias, c.m, {});
    p.descriptors()[0].out.space = hls::space_input; // the kernel never writes its input
    expect(p, p.program(256, 256, 256), "(layer 0)");
  }
  {
    // More layers than the kernel's layer loop takes: refused before any runs.
    hls_program p;
    for (int k = 0; k <= hls::max_layers; ++k) p.add_conv(in, out, c.a, c.w, c.bias, c.m, {});
    int32_t layers = 0;
    const auto prog = p.program(256, 256, 256);
    std::memcpy(&layers, prog.data() + 8, 4);
    CHECK(layers == hls::max_layers + 1);
    expect(p, prog, "more layers than the kernel takes");
  }
  {
    // Weights that are not the program's: one weight changed, or the
    // weights of another program of the same size.
    hls_program p;
    p.add_conv(in, out, c.a, c.w, c.bias, c.m, {});
    const auto prog = p.program(256, 256, 256);
    hls_run(prog, p.weights(), input.data(), output.data(), 1); // its own: runs
    auto other = p.weights();
    other[5] ^= 1;
    try {
      hls_run(prog, other, input.data(), output.data(), 1);
      FAIL("ran on weights that are not the program's");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "weaver_dnn: weights that are not the program's (checksum)");
    }
    int32_t status = 0;
    std::memcpy(&status, output.data(), 4);
    CHECK(status == hls::status_bad_weights);
    hls_program q;
    auto w2 = c.w;
    w2[0] = 2;
    q.add_conv(in, out, c.a, w2, c.bias, c.m, {});
    REQUIRE(q.weights().size() == p.weights().size());
    CHECK_THROWS_WITH_AS(hls_run(prog, q.weights(), input.data(), output.data(), 1), doctest::Contains("checksum"),
                         std::runtime_error);
  }
}

TEST_CASE("weaver_dnn weights checksum: any one byte, two words swapped, or a shorter upload change it") {
  std::mt19937 rng(7);
  std::vector<uint8_t> w(1000);
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const auto n = static_cast<int32_t>(w.size());
  const auto base = hls::weights_checksum(w.data(), n);
  auto differs = [&](const std::vector<uint8_t>& v, int32_t bytes) {
    const auto s = hls::weights_checksum(v.data(), bytes);
    return s.a != base.a || s.b != base.b;
  };
  for (size_t i = 0; i < w.size(); ++i) {
    auto v = w;
    v[i] ^= static_cast<uint8_t>(1u << (i % 8));
    REQUIRE_MESSAGE(differs(v, n), "byte " << i);
  }
  for (size_t i : {0, 1, 15, 16, 17, 100}) { // same lane (i, i + 16) and neighbouring lanes
    for (size_t j : {i + 1, i + 16, i + 33}) {
      auto v = w;
      for (int k = 0; k < 4; ++k) std::swap(v[4 * i + k], v[4 * j + k]);
      if (v == w) continue;
      CHECK_MESSAGE(differs(v, n), "words " << i << " and " << j);
    }
  }
  CHECK(differs(w, n - 4)); // truncated
  auto shifted = w;
  shifted.insert(shifted.begin(), 0);
  CHECK(differs(shifted, n)); // one byte late
  CHECK(hls::weights_checksum(nullptr, 0).a == 0);
}

TEST_CASE("NanoDet int8 on the weaver_dnn C-simulation detects what the int8 CPU session detects") {
  auto& f = nanodet();
  auto m8 = with_int8(f.f32, std::make_shared<int8_table>(f.table), true); // exact: the kernel's semantics
  hls_network net(m8);
  CHECK(net.kernel_layers() > 34); // every conv, plus pools, adds, resizes and concat copies
  CHECK(net.host_nodes() < 20); // the heads' split, sigmoid, reshape
  session s8(m8);
  const auto frames = sample_frames(16, 40); // frames 440..600: after the calibration frames
  const auto& tensors = f.det->host_tensors(frames[0].size());
  // The kernel's differences (the heads' logits before the host's sigmoid,
  // the PAN's resize and add outputs in codes): tests/unit/detections_agree.hpp.
  size_t matched = 0, total = 0;
  double sim_ms = 0;
  for (size_t k = 11; k < frames.size(); ++k) {
    f.det->fill_input(frames[k], s8.input());
    f.det->fill_input(frames[k], net.input());
    s8.run();
    const auto t0 = std::chrono::steady_clock::now();
    net.run();
    sim_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::vector<const float*> cpu, fpga;
    for (const auto& t : tensors) {
      cpu.push_back(s8.value(t.name));
      fpga.push_back(net.value(t.name));
      REQUIRE(fpga.back());
    }
    CAPTURE(k * 40);
    check_detections_agree(f.det->decode(frames[k].size(), cpu), f.det->decode(frames[k].size(), fpga), matched, total);
  }
  MESSAGE("C-simulation: " << sim_ms / 5 << " ms per frame (input " << engine::to_string(m8->input_shape()) << "), "
                           << matched << " of " << total << " CPU detections matched");
  CHECK(total >= 10);
}
