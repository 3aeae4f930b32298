#include "accel/engine/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace weaver::engine::quant {

float scale_for(float absmax, int qmax) {
  if (!(absmax > 0.0f) || !std::isfinite(absmax)) return 1.0f;
  return absmax / static_cast<float>(qmax);
}

int32_t quantize(float x, float scale, int32_t lo, int32_t hi) {
  const double q = std::round(static_cast<double>(x) / static_cast<double>(scale)); // halves away from zero
  if (!(q >= lo)) return q != q ? 0 : lo; // NaN -> 0
  if (q > hi) return hi;
  return static_cast<int32_t>(q);
}

channel_weights quantize_weights(const float* w, const shape_t& hwio) {
  if (hwio.size() != 4) throw model_error("quantize_weights: expected an HWIO filter, got " + to_string(hwio));
  const int64_t co = hwio[3], n = numel(hwio);
  channel_weights r;
  std::vector<float> absmax(static_cast<size_t>(co), 0.0f);
  for (int64_t i = 0; i < n; ++i) absmax[static_cast<size_t>(i % co)] = std::max(absmax[i % co], std::fabs(w[i]));
  r.scale.resize(static_cast<size_t>(co));
  for (int64_t c = 0; c < co; ++c) r.scale[static_cast<size_t>(c)] = scale_for(absmax[static_cast<size_t>(c)], s8_max);
  r.q.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    r.q[static_cast<size_t>(i)] = static_cast<int8_t>(quantize(w[i], r.scale[i % co], -s8_max, s8_max));
  return r;
}

std::vector<int32_t> quantize_bias(const float* b, const std::vector<float>& w_scale, float in_scale) {
  std::vector<int32_t> q(w_scale.size(), 0);
  if (!b) return q;
  const int32_t lim = std::numeric_limits<int32_t>::max();
  for (size_t c = 0; c < q.size(); ++c) q[c] = quantize(b[c], in_scale * w_scale[c], -lim, lim);
  return q;
}

fixed_multiplier to_fixed(double m) {
  if (!(m >= 0.0) || m >= 2147483648.0) throw std::invalid_argument("to_fixed: multiplier out of [0, 2^31)");
  if (m == 0.0) return {};
  int e = 0;
  const double frac = std::frexp(m, &e); // m = frac * 2^e, frac in [0.5, 1)
  auto m0 = static_cast<int64_t>(std::llround(frac * 2147483648.0));
  if (m0 == (int64_t{1} << 31)) { // frac rounded up to 1
    m0 /= 2;
    ++e;
  }
  return {static_cast<int32_t>(m0), e};
}

double to_double(fixed_multiplier f) { return std::ldexp(static_cast<double>(f.m0), f.shift - 31); }

void range_observer::observe(const float* x, int64_t n) {
  if (n <= 0) return;
  float lo = seen_ ? min_ : x[0], hi = seen_ ? max_ : x[0];
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  min_ = lo;
  max_ = hi;
  seen_ = true;
}

float range_observer::scale() const {
  return is_unsigned() ? scale_for(max_, u8_max) : scale_for(std::max(-min_, max_), s8_max);
}

std::vector<int32_t> reference_conv2d(const std::vector<int32_t>& in, const shape_t& is, const std::vector<int8_t>& w,
                                      const shape_t& ws, const std::vector<int32_t>& bias, const attrs& a,
                                      const shape_t& os, const std::vector<fixed_multiplier>& m, int32_t lo, int32_t hi,
                                      const std::vector<fixed_multiplier>& m_neg) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3];
  const int64_t kh = ws[0], kw = ws[1], cg = ws[2], co = ws[3], Ho = os[1], Wo = os[2];
  const int64_t groups = a.groups, cog = co / groups;
  if (C != cg * groups || os[3] != co) throw model_error("reference_conv2d: channel counts do not match");
  const bool relu = a.activation == act::relu, leaky = a.activation == act::leaky;
  if (a.activation != act::none && !relu && !leaky)
    throw model_error("reference_conv2d: only relu, leaky or no activation");
  if (leaky && m_neg.size() != m.size()) throw model_error("reference_conv2d: leaky needs one m_neg per channel");
  std::vector<int32_t> out(static_cast<size_t>(numel(os)));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < Ho; ++oy)
      for (int64_t ox = 0; ox < Wo; ++ox)
        for (int64_t oc = 0; oc < co; ++oc) {
          const int64_t g = oc / cog;
          int64_t acc = bias.empty() ? 0 : bias[static_cast<size_t>(oc)];
          for (int64_t ky = 0; ky < kh; ++ky) {
            const int64_t y = oy * a.stride[0] - a.pads[0] + ky * a.dilation[0];
            if (y < 0 || y >= H) continue;
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t x = ox * a.stride[1] - a.pads[1] + kx * a.dilation[1];
              if (x < 0 || x >= W) continue;
              const int32_t* px = in.data() + ((n * H + y) * W + x) * C + g * cg;
              const int8_t* pw = w.data() + ((ky * kw + kx) * cg) * co + oc;
              for (int64_t ic = 0; ic < cg; ++ic) acc += static_cast<int64_t>(px[ic]) * pw[ic * co];
            }
          }
          if (acc > std::numeric_limits<int32_t>::max() || acc < std::numeric_limits<int32_t>::min())
            throw model_error("reference_conv2d: int32 accumulator overflow");
          const auto& mul = leaky && acc < 0 ? m_neg : m;
          int32_t q = requantize(static_cast<int32_t>(acc), mul[static_cast<size_t>(oc)]);
          if (relu) q = std::max(q, 0);
          out[static_cast<size_t>(((n * Ho + oy) * Wo + ox) * co + oc)] = std::clamp(q, lo, hi);
        }
  return out;
}

} // namespace weaver::engine::quant
