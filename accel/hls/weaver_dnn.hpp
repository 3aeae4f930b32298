// The weaver_dnn FPGA kernel for int8 programs (protocol version 2,
// accel/xrt_protocol.md "Version 2"): a DNNWeaver-style accelerator — the
// host compiles the network into a stream of layer descriptors, the kernel
// runs them one after another over DDR, every layer integer-only:
//
//   conv     a pe_m x pe_n array of int8 x int8 -> int32 multiply-accumulate
//            units (pe_m output channels by pe_n input channels per cycle)
//            over on-chip weight / input / output tiles, the next input and
//            weight tile loaded while the current one is computed (ping-pong
//            buffers); grouped convolutions per group, depthwise ones on a
//            channel-parallel lane array instead (pe_m channels per cycle);
//            bias, per-channel fixed-point requantization (m0 * 2^(shift-31),
//            ties away from zero, quant::requantize's rule), relu / leaky
//            (a second multiplier for negative accumulators), saturation.
//   maxpool  over codes (the scale is unchanged, so max commutes with it).
//   add      a * Ma + b * Mb to 8 fractional bits, then one rounding shift.
//   resize   bilinear (tap table from the host, Q8 fractions) or nearest.
//   copy     requantize a tensor into a channel slice of another (concat).
//
// Every tensor is u8 or s8 codes, NHWC, addressed as (space, byte offset,
// channels per pixel, first channel), so a layer can read or write a slice
// of a wider tensor: concat costs nothing when producers write their slice.
//
// This header is shared by the kernel, the host compiler and the tests; it
// uses no vendor header, so the kernel compiles with g++ (C-simulation).
#pragma once

#include "accel/hls/hls_types.hpp"

namespace weaver::hls {

/// The PE array and on-chip buffers of this build. The cycle model
/// (tools/hls_cycle_model.cpp) takes other array sizes as parameters.
constexpr int pe_m = 16; // output channels in parallel
constexpr int pe_n = 16; // input channels in parallel
constexpr int tile_r = 16, tile_c = 16; // output pixels per tile (at most)
constexpr int max_window = 7; // (kernel - 1) * dilation + 1, each axis
constexpr int max_in_tile = 40; // input rows / cols a tile may span
constexpr int max_layers = 1024;

constexpr u32 program_magic = 0x4E443857; // "W8DN" little endian
constexpr u32 program_version = 2;
constexpr int header_words = 16;
constexpr int layer_words = 64;
/// The output buffer starts with a status page; image i's block follows at
/// status_bytes + i * output_stride.
constexpr int status_bytes = 4096;

enum opcode : s32 { op_conv = 1, op_maxpool = 2, op_add = 3, op_resize = 4, op_copy = 5 };
enum activation : s32 { act_none = 0, act_relu = 1, act_leaky = 2 };
enum space : s32 { space_input = 0, space_work = 1 }; // input image / the image's output block

/// Status word 0 of the status page (word 1: the failing layer).
enum status : s32 {
  status_ok = 0,
  status_bad_program = 1, // magic or version: a program of another protocol
  status_too_many_layers = 2,
  status_exceeds_buffers = 3, // a window or tile larger than the on-chip buffers
  status_bad_layer = 4, // unknown op, zero or inconsistent shapes, bad space
  status_out_of_bounds = 5, // a tensor or weight beyond its buffer
  status_bad_weights = 6, // the weights' checksum is not the program's
};

/// The weights checksum of program header words 7 and 8: the weights as u32
/// LE words (the last one zero-padded), word i in lane i % 16 (one AXI beat
/// of 16 words per cycle), per lane Fletcher sums a += word, b += a (mod
/// 2^32); word 7 = sum of a_j * (2j + 1), word 8 = sum of b_j * (2j + 1) (odd
/// lane factors: a change in any one lane always shows). Catches weights of
/// another program or a truncated or shifted upload, not a deliberate
/// forgery. The kernel recomputes it every run: weights_bytes / 64 cycles.
constexpr int checksum_lanes = 16;
struct weights_sum {
  u32 a, b;
};
weights_sum weights_checksum(const u8* weights, s32 bytes);

/// A tensor view: codes at `off` bytes into its space, pixel (y, x) channel
/// c at off + (y * w + x) * cstride + coff + c.
struct view {
  s32 space, off, h, w, c, cstride, coff, is_signed;
};

/// One layer descriptor: layer_words s32 words in the program, this order.
struct layer {
  s32 op, act;
  view in, in2, out; // out.is_signed: the output's code range
  s32 lo, hi; // output saturation
  s32 kh, kw, sh, sw, pt, pl, dh, dw, groups; // conv / pool window
  s32 w_off, b_off, m_off; // conv: s8 HWIO weights, s32 bias (-1: none),
    // per channel {m0, shift, m0_neg, shift_neg} s32
  s32 m0, shift; // copy, resize: input -> output; add: the final rounding
  s32 m0_a, shift_a, m0_b, shift_b; // add: each input to 8 fractional bits
  s32 mode; // resize: 0 nearest, 1 bilinear
  s32 tap_off; // resize: per output row then column {lo, hi, frac Q8} s32
};
constexpr int layer_fields = 2 + 3 * 8 + 2 + 9 + 3 + 2 + 4 + 2;
static_assert(layer_fields <= layer_words, "a layer descriptor fits its words");

struct header {
  u32 magic, version, layers, input_stride, output_stride, input_bytes, weights_bytes, checksum_a, checksum_b;
};

} // namespace weaver::hls

/// The kernel's top function: the argument order and register offsets of
/// accel/xrt_protocol.hpp. Buffers are bytes in version 2 (u8/s8 codes in
/// and out, s8/s32 constants); `batch` images per run.
extern "C" void weaver_dnn(const weaver::hls::u8* input, const weaver::hls::u8* weights, const weaver::hls::u8* program,
                           weaver::hls::u8* output, weaver::hls::u32 batch);
