// Fixed-width types of the weaver_dnn kernel source. Vitis HLS would offer
// ap_int<W>; no vendor header is available (nor wanted) here, so the kernel
// uses these, which map onto the widths HLS infers from native integers, and
// the same file compiles with g++ as the C-simulation.
#pragma once

#include <cstdint>

namespace weaver::hls {

using s8 = int8_t; // weights, s8 activation codes
using u8 = uint8_t; // u8 activation codes, bytes of the DDR buffers
using s32 = int32_t; // accumulators, bias, multipliers
using u32 = uint32_t; // program words
using s64 = int64_t; // the requantizer's 32x32 product

/// One AXI beat of the m_axi ports: 64 bytes (512 bits), the width HLS
/// bursts at on Alveo DDR/HBM. The loaders move whole beats.
constexpr int axi_bytes = 64;
struct beat {
  u8 b[axi_bytes];
};

/// Saturating clamp, the last step of every requantization.
inline s32 clamp32(s32 v, s32 lo, s32 hi) { return v < lo ? lo : v > hi ? hi : v; }

/// Requantization of an accumulator by M = m0 * 2^(shift - 31), ties away
/// from zero, saturated to int32: the rule of accel/engine/quantize.hpp
/// (quant::requantize), restated here because the kernel source may not
/// include the engine. Hardware: one 32x32->64 multiplier, one barrel shift.
inline s32 requantize(s32 acc, s32 m0, s32 shift) {
  const s64 i32_min = -2147483647 - 1, i32_max = 2147483647;
  const s64 p = static_cast<s64>(acc) * m0;
  const int right = 31 - shift;
  if (right <= 0) {
    if (p == 0) return 0;
    if (-right >= 32) return p > 0 ? static_cast<s32>(i32_max) : static_cast<s32>(i32_min);
    const s64 lim = s64{1} << (62 + right);
    if (p >= lim || p <= -lim) return p > 0 ? static_cast<s32>(i32_max) : static_cast<s32>(i32_min);
    const s64 q = p * (s64{1} << -right);
    return static_cast<s32>(q < i32_min ? i32_min : q > i32_max ? i32_max : q);
  }
  if (right >= 63) return 0;
  const s64 half = s64{1} << (right - 1);
  const s64 q = p >= 0 ? (p + half) >> right : -((-p + half) >> right);
  return static_cast<s32>(q < i32_min ? i32_min : q > i32_max ? i32_max : q);
}

} // namespace weaver::hls
