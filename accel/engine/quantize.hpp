// Post-training int8 quantization: the arithmetic, free of any runtime.
// Scheme (symmetric, zero point 0 everywhere):
//   weights      w ~ sw[c] * qw,  qw in [-127, 127], one scale per output channel
//   activations  x ~ sx * qx,     qx in [0, 255] (u8, a value never negative
//                                 in calibration) or [-127, 127] (s8)
//   convolution  acc = sum qx * qw (int32), bias as int32 round(b / (sx * sw[c]))
//   output       y = (sx * sw[c] / sy) * acc, requantized either by a float
//                scale (oneDNN) or by a fixed-point multiplier M = M0 * 2^-31
//                * 2^shift (int32 M0 in [2^30, 2^31)), integer-only, which is
//                what an accelerator without floating point does.
// -127 instead of -128 keeps the weight range symmetric, so negating a channel
// never saturates.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "accel/engine/graph.hpp"

namespace weaver::engine::quant {

constexpr int s8_max = 127;
constexpr int u8_max = 255;

/// Scale that maps [-absmax, absmax] (or [0, absmax]) onto [-qmax, qmax];
/// 1 when absmax is 0 or not finite, so an all-zero tensor stays zero.
float scale_for(float absmax, int qmax);

/// round(x / scale), halves away from zero, saturated to [lo, hi].
int32_t quantize(float x, float scale, int32_t lo, int32_t hi);

/// Per-output-channel symmetric int8 weights of an HWIO filter (the output
/// channel is the last axis): q[i] = round(w[i] / scale[c]).
struct channel_weights {
  std::vector<int8_t> q; // HWIO, as the float filter
  std::vector<float> scale; // one per output channel
};
channel_weights quantize_weights(const float* w, const shape_t& hwio);

/// Bias in the accumulator's units: round(b[c] / (in_scale * w_scale[c])).
std::vector<int32_t> quantize_bias(const float* b, const std::vector<float>& w_scale, float in_scale);

/// A real multiplier as int32 M0 and a power of two: M = M0 * 2^(shift - 31).
struct fixed_multiplier {
  int32_t m0 = 0;
  int shift = 0; // > 0: left shift (M >= 1); < 0: right shift
};
/// Throws std::invalid_argument unless 0 <= m < 2^31.
fixed_multiplier to_fixed(double m);
/// The real number a fixed multiplier stands for.
double to_double(fixed_multiplier f);

/// round(acc * M) in integers only, ties away from zero, saturated to int32:
/// the exact int64 product acc * M0, then one rounding right shift by
/// 31 - shift. A single rounding (gemmlowp rounds twice, after the high
/// multiply and after the shift, and can be off by one); an accelerator
/// needs a 32x32->64 multiplier and a barrel shifter for it.
inline int32_t requantize(int32_t acc, fixed_multiplier f) {
  constexpr int64_t i32_min = std::numeric_limits<int32_t>::min(), i32_max = std::numeric_limits<int32_t>::max();
  // |acc * m0| < 2^62: exact in int64; one rounding shift by 31 - shift.
  const int64_t p = static_cast<int64_t>(acc) * f.m0;
  const int right = 31 - f.shift;
  if (right <= 0) { // M >= 2^31 / 2^31: a left shift, saturated
    if (p == 0) return 0;
    if (-right >= 32) return p > 0 ? static_cast<int32_t>(i32_max) : static_cast<int32_t>(i32_min);
    const int64_t lim = int64_t{1} << (62 + right); // |p| beyond this overflows after << -right
    if (p >= lim || p <= -lim) return p > 0 ? static_cast<int32_t>(i32_max) : static_cast<int32_t>(i32_min);
    return static_cast<int32_t>(std::clamp(p * (int64_t{1} << -right), i32_min, i32_max));
  }
  if (right >= 63) return 0;
  // Rounding right shift, ties away from zero: add half, shift the magnitude.
  const int64_t half = int64_t{1} << (right - 1);
  const int64_t q = p >= 0 ? (p + half) >> right : -((-p + half) >> right);
  return static_cast<int32_t>(std::clamp(q, i32_min, i32_max));
}

/// Activation range seen over calibration runs: the scale is taken from the
/// largest magnitude (min/max calibration, no clipping), unsigned when no
/// negative value was seen.
class range_observer {
public:
  void observe(const float* x, int64_t n);
  bool seen() const { return seen_; }
  float min() const { return min_; }
  float max() const { return max_; }
  bool is_unsigned() const { return min_ >= 0.0f; }
  float scale() const;

private:
  bool seen_ = false;
  float min_ = 0.0f, max_ = 0.0f;
};

/// An int8 activation: scale and signedness (u8 in [0,255] or s8 in [-127,127]).
struct act_scale {
  float scale = 1.0f;
  bool is_unsigned = false;
};

/// Integer reference convolution, for tests and accelerators to match:
/// NHWC u8/s8 input (as int32 codes), HWIO s8 weights, int32 bias and
/// accumulation, per-channel fixed-point requantization to the output's
/// codes, relu (or none) applied by clamping at 0. Shapes as conv2d's.
/// Leaky relu takes a second multiplier per channel, `m_neg` = M * alpha,
/// for negative accumulators (the sign of acc is the sign of the output), so
/// it too is one rounding from the accumulator.
std::vector<int32_t> reference_conv2d(const std::vector<int32_t>& in, const shape_t& in_shape,
                                      const std::vector<int8_t>& w, const shape_t& hwio,
                                      const std::vector<int32_t>& bias, const attrs& a, const shape_t& out_shape,
                                      const std::vector<fixed_multiplier>& m, int32_t lo, int32_t hi,
                                      const std::vector<fixed_multiplier>& m_neg = {});

} // namespace weaver::engine::quant
