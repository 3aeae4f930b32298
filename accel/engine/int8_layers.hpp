// The integer layers of int8 inference, on codes: the one integer semantics
// the int8 CPU session runs and the weaver_dnn kernel (accel/hls) computes
// bit for bit. Codes are bytes, u8 or s8 (two's complement) as a flag says,
// NHWC; every rescale is a fixed-point multiplier (quant::requantize: one
// rounding, ties away from zero), every result saturates to its code range.
//
//   conv     int32 accumulators (oneDNN's, or the reference's) + bias,
//            requantized per channel, relu clamps at 0, leaky takes a second
//            multiplier M * alpha for negative sums
//   max pool the codes' maximum (max commutes with a positive scale)
//   add      x * Ma + y * Mb to 8 fractional bits of the output's units,
//            then a rounding shift by 8: two roundings, the first 256x finer
//   resize   bilinear on a tap table (rows, columns, Q8 fractions) taken
//            from the float kernel's coordinates, Q16 sum, one requantize
//   copy     requantize into a channel slice of a wider tensor (concat)
// `threads`: how many OpenMP threads a layer may split its rows over (the
// session's count); the codes never depend on it.
#pragma once

#include <cstdint>
#include <vector>

#include "accel/engine/graph.hpp"
#include "accel/engine/quantize.hpp"

namespace weaver::engine::quant {

inline int32_t code_lo(bool is_signed) { return is_signed ? -128 : 0; }
inline int32_t code_hi(bool is_signed) { return is_signed ? 127 : 255; }
inline int32_t code_of(uint8_t b, bool is_signed) { return is_signed ? static_cast<int8_t>(b) : b; }

/// A convolution's multipliers: M[c] = s_in * s_w[c] / s_out, and for leaky
/// M[c] * alpha in `m_neg` (left empty otherwise).
void conv_multipliers(float s_in, const std::vector<float>& s_w, float s_out, const attrs& a,
                      std::vector<fixed_multiplier>& m, std::vector<fixed_multiplier>& m_neg);

/// Codes of a conv from its accumulators without bias, `pixels` x `co`
/// (NHWC): bias[c] (empty: none) added in int32, then as described above.
/// `a.activation` is none, relu or leaky (model_error otherwise).
void requantize_conv(const int32_t* acc, int64_t pixels, int64_t co, const std::vector<int32_t>& bias,
                     const std::vector<fixed_multiplier>& m, const std::vector<fixed_multiplier>& m_neg, const attrs& a,
                     bool out_signed, uint8_t* out, int threads = 1);

/// Max pool on codes, the output of the input's type. Padding never wins; a
/// window wholly in padding (ceil mode) gives code 0.
void max_pool_codes(const uint8_t* in, const shape_t& in_shape, bool is_signed, const attrs& a, uint8_t* out,
                    const shape_t& out_shape, int threads = 1);

/// The three multipliers of an add: each input to the output's scale with 8
/// more fractional bits, then 2^-8.
struct add_multipliers {
  fixed_multiplier a, b, out;
};
add_multipliers add_multipliers_for(float sa, float sb, float so);
/// out = requantize(requantize(x, m.a) + requantize(y, m.b), m.out), `n`
/// elements of equal shapes, saturated.
void add_codes(const uint8_t* x, bool x_signed, const uint8_t* y, bool y_signed, int64_t n, const add_multipliers& m,
               uint8_t* out, bool out_signed, int threads = 1);

/// One output row's (or column's) bilinear taps: the two input indices and
/// the fraction of the second in Q8, from kernels::resize_bilinear_nhwc's
/// coordinates (half pixel, align corners or legacy).
struct resize_tap {
  int32_t lo, hi, frac;
};
std::vector<resize_tap> resize_taps(int64_t in_size, int64_t out_size, bool half_pixel, bool align_corners);
/// s_in / s_out / 2^16: the Q16 bilinear sum to output codes.
fixed_multiplier resize_multiplier(float s_in, float s_out);
/// top = tl (256 - fx) + tr fx, bottom likewise, v = top (256 - fy) + bottom fy
/// (exact in int32), out = requantize(v, m), saturated.
void resize_bilinear_codes(const uint8_t* in, const shape_t& in_shape, bool in_signed,
                           const std::vector<resize_tap>& ty, const std::vector<resize_tap>& tx, fixed_multiplier m,
                           uint8_t* out, const shape_t& out_shape, bool out_signed, int threads = 1);

/// `pixels` x `c` codes requantized by m into channels [coff, coff + c) of
/// an output of `out_cstride` channels per pixel (a concat's slice).
void copy_codes(const uint8_t* in, int64_t pixels, int64_t c, bool in_signed, fixed_multiplier m, uint8_t* out,
                int64_t out_cstride, int64_t coff, bool out_signed, int threads = 1);

} // namespace weaver::engine::quant
