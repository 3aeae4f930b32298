// The engine's elementwise, softmax and transpose kernels
// (accel/engine/kernels) against plain reference loops: the vectorised
// exponential and the tiled transpose compute what the definitions say.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "accel/engine/graph.hpp"
#include "accel/engine/kernels.hpp"

using namespace weaver::engine;

namespace {

// Values from -range to range, not in order, so no two neighbours are alike.
std::vector<float> ramp(int64_t n, float range) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = range * (2.0f * static_cast<float>((i * 7919) % n) / static_cast<float>(n) - 1.0f);
  return v;
}

// |a - b| relative to max(1, |b|), the ONNX Runtime tests' measure.
double worst(const std::vector<float>& a, const std::vector<double>& b) {
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) w = std::max(w, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return w;
}

} // namespace

TEST_CASE("sigmoid: within float rounding of the definition, saturating cleanly") {
  const auto x = ramp(100003, 120.0f); // past both ends of the exponential's range
  auto s = x;
  kernels::apply_activation(s.data(), static_cast<int64_t>(s.size()), act::sigmoid, 0, 0);
  std::vector<double> rs;
  for (float v : x) rs.push_back(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
  CHECK(worst(s, rs) <= 1e-6);
  bool in_range = true;
  for (float v : s) in_range = in_range && v >= 0.0f && v <= 1.0f;
  CHECK(in_range);
  std::vector<float> edge{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(), 0.0f};
  kernels::apply_activation(edge.data(), 3, act::sigmoid, 0, 0);
  CHECK(edge[0] < 1e-30f);
  CHECK(edge[1] == 1.0f);
  CHECK(edge[2] == 0.5f);
}

TEST_CASE("softmax over the last axis: matching the definition") {
  const shape_t sh{1, 8400, 4, 16};
  const auto x = ramp(numel(sh), 30.0f);
  std::vector<double> ref(x.size());
  for (size_t r = 0; r < x.size(); r += 16) {
    double mx = -1e300, sum = 0;
    for (size_t k = 0; k < 16; ++k) mx = std::max(mx, static_cast<double>(x[r + k]));
    for (size_t k = 0; k < 16; ++k) sum += ref[r + k] = std::exp(x[r + k] - mx);
    for (size_t k = 0; k < 16; ++k) ref[r + k] /= sum;
  }
  std::vector<float> out(x.size());
  kernels::softmax_last(x.data(), sh, out.data());
  CHECK(worst(out, ref) <= 1e-6);
}

TEST_CASE("transpose: every permutation of a 4-D tensor equals the index definition") {
  // Sizes above and below the 32-element tile, with a 1 among them.
  for (const shape_t& is : {shape_t{1, 70, 33, 5}, shape_t{2, 3, 40, 65}, shape_t{1, 64, 8400, 1}}) {
    std::vector<float> x(static_cast<size_t>(numel(is)));
    std::iota(x.begin(), x.end(), 0.0f);
    std::vector<int64_t> perm{0, 1, 2, 3};
    do {
      shape_t os(4);
      for (size_t j = 0; j < 4; ++j) os[j] = is[static_cast<size_t>(perm[j])];
      const auto ist = strides_of(is);
      std::vector<float> ref(x.size());
      int64_t k = 0;
      for (int64_t a = 0; a < os[0]; ++a)
        for (int64_t b = 0; b < os[1]; ++b)
          for (int64_t c = 0; c < os[2]; ++c)
            for (int64_t d = 0; d < os[3]; ++d) {
              const int64_t i[4] = {a, b, c, d};
              int64_t src = 0;
              for (size_t j = 0; j < 4; ++j) src += i[j] * ist[static_cast<size_t>(perm[j])];
              ref[static_cast<size_t>(k++)] = x[static_cast<size_t>(src)];
            }
      std::vector<float> out(x.size(), -1.0f);
      kernels::transpose(x.data(), is, perm, out.data());
      CHECK_MESSAGE(out == ref, to_string(is) << " perm " << perm[0] << perm[1] << perm[2] << perm[3]);
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST_CASE("binary ops on equal shapes: each op") {
  const shape_t sh{1, 80, 80, 16};
  const auto x = ramp(numel(sh), 5.0f), y = ramp(numel(sh) + 1, 3.0f); // y offset: other values than x
  for (op k : {op::add, op::sub, op::mul, op::div}) {
    std::vector<float> out(x.size());
    kernels::binary(k, x.data(), sh, y.data(), sh, out.data(), sh);
    bool same = true;
    for (size_t i = 0; i < x.size(); ++i) {
      const float r = k == op::add ? x[i] + y[i]
        : k == op::sub             ? x[i] - y[i]
        : k == op::mul             ? x[i] * y[i]
                                   : x[i] / y[i];
      same = same && (out[i] == r || (std::isnan(out[i]) && std::isnan(r)));
    }
    CHECK_MESSAGE(same, op_name(k));
  }
}

TEST_CASE("conv2d: few and many input channels against a plain loop, and the kernel chosen for few") {
  // {ic, oc, k, stride}: the first four take oneDNN's direct jit kernel
  // instead of its brgemm one (cheaper to generate, as fast); a plain 1x1
  // with more channels runs as a matmul, never as the 1x1 brgemm
  // convolution; the last is oneDNN's own choice.
  for (const auto& [ic, oc, k, stride] : std::vector<std::array<int, 4>>{
         {3, 8, 3, 2}, {16, 32, 3, 1}, {24, 16, 1, 1}, {32, 16, 3, 1}, {48, 32, 1, 1}, {40, 32, 3, 1}}) {
    const int h = 13, w = 11, pad = k / 2;
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const shape_t is{1, h, w, ic}, ws{k, k, ic, oc}, os{1, oh, ow, oc};
    const auto x = ramp(numel(is), 2.0f), wt = ramp(numel(ws) + 3, 0.5f), b = ramp(oc + 5, 1.0f);
    attrs a;
    a.kernel = {k, k};
    a.stride = {stride, stride};
    a.pads = {pad, pad, pad, pad};
    a.activation = act::silu;
    std::vector<float> out(static_cast<size_t>(numel(os)), -1.0f);
    kernels::conv2d c(is, x.data(), ws, wt.data(), b.data(), a, os, out.data());
    c.run();
    std::vector<double> ref(out.size());
    for (int y = 0; y < oh; ++y)
      for (int xo = 0; xo < ow; ++xo)
        for (int o = 0; o < oc; ++o) {
          double s = b[static_cast<size_t>(o)];
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = y * stride - pad + ky, ix = xo * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (int i = 0; i < ic; ++i)
                s += static_cast<double>(x[static_cast<size_t>((iy * w + ix) * ic + i)])
                  * wt[static_cast<size_t>(((ky * k + kx) * ic + i) * oc + o)];
            }
          ref[static_cast<size_t>((y * ow + xo) * oc + o)] = s / (1.0 + std::exp(-s));
        }
    CHECK_MESSAGE(worst(out, ref) < 1e-4, ic << "->" << oc << " " << k << "x" << k << " " << c.implementation());
    if (ic <= 24 || (ic <= 32 && oc <= 16))
      CHECK_MESSAGE(c.implementation().rfind("brgconv", 0) != 0, ic << "->" << oc << ": " << c.implementation());
    if (k == 1)
      CHECK_MESSAGE(c.implementation().rfind("brgconv_1x1", 0) != 0, ic << "->" << oc << ": " << c.implementation());
  }
}
