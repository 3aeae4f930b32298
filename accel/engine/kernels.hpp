// CPU kernels on storage-order tensors (NHWC for images). Convolution runs
// on oneDNN (see conv2d); the rest are memory-bound loops.
// Every kernel runs on the calling thread: the engine shares the card's
// worker threads with the rest of the process instead of owning a pool. The
// ones taking `threads` fork that many OpenMP threads for large tensors when
// it is above 1 (a session for single-stream latency).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "accel/engine/graph.hpp"

namespace weaver::engine::kernels {

/// NHWC convolution on oneDNN (chosen over OpenBLAS im2col+SGEMM by
/// measurement: 3.6x faster on one thread, see README), HWIO filter, bias and
/// activation fused. The primitive is built once for its shapes and buffers,
/// single-threaded (the card's worker threads are the parallelism), with its
/// own scratchpad so sessions never share state.
class conv2d {
public:
  conv2d(const shape_t& in_shape, const float* in, const shape_t& w_shape, const float* w, const float* bias,
         const attrs& a, const shape_t& out_shape, float* out, int threads = 1);
  ~conv2d();
  conv2d(conv2d&&) noexcept;
  conv2d& operator=(conv2d&&) noexcept;
  void run();
  /// The oneDNN implementation chosen (e.g. "brgconv:avx512_core").
  std::string implementation() const;

private:
  struct impl;
  std::unique_ptr<impl> p_;
};

/// The same convolution in int8 on oneDNN (VNNI where the CPU has it):
/// input codes u8/s8 (NHWC, one scale), s8 HWIO weights with one scale per
/// output channel, s32 bias in accumulator units, s32 accumulation; the
/// result is scaled by in_scale * w_scale[c], the activation applied, then
/// written as f32 or, when `out` is set, requantized to u8/s8 codes of that
/// scale (oneDNN rounds to nearest even and saturates).
struct int8_conv {
  float in_scale = 1.0f;
  bool in_unsigned = false;
  const int8_t* w = nullptr;
  std::vector<float> w_scale;
  std::vector<int32_t> bias; // empty: none
  bool out_codes = false;
  float out_scale = 1.0f;
  bool out_unsigned = false;
  /// Instead: the raw s32 accumulators (no bias, scale or activation), for
  /// the integer requantization (quant::requantize_conv) to finish.
  bool raw_acc = false;
};

class conv2d_s8 {
public:
  conv2d_s8(const shape_t& in_shape, const void* in, const shape_t& w_shape, const int8_conv& q, const attrs& a,
            const shape_t& out_shape, void* out, int threads = 1);
  ~conv2d_s8();
  conv2d_s8(conv2d_s8&&) noexcept;
  conv2d_s8& operator=(conv2d_s8&&) noexcept;
  void run();
  /// run() writing to `out` instead of the buffer given at construction.
  void run_into(void* out);
  std::string implementation() const;

private:
  struct impl;
  std::unique_ptr<impl> p_;
};

/// f32 -> u8/s8 codes: round(x / scale) (ties to even, as oneDNN's), saturated.
/// A plain loop (a oneDNN reorder would fork OpenMP threads per call, which
/// costs more than it saves on a busy machine), split over `threads` OpenMP
/// threads for a session of more than one (parallel.hpp).
void quantize_codes(const float* x, int64_t n, float scale, bool is_unsigned, void* out, int threads = 1);
/// Codes -> f32.
void dequantize_codes(const void* q, int64_t n, float scale, bool is_unsigned, float* out, int threads = 1);

void apply_activation(float* x, int64_t n, act a, float alpha, float beta = 0.0f, int threads = 1);

/// out = x (op) y with numpy broadcasting; shapes have equal rank.
void binary(op k, const float* x, const shape_t& xs, const float* y, const shape_t& ys, float* out, const shape_t& os,
            int threads = 1);

void pad(const float* in, const shape_t& in_shape, const std::vector<int64_t>& pads, float value, float* out,
         const shape_t& out_shape);

/// Mean over the window; padding counts in the divisor only with
/// a.count_include_pad.
void avg_pool_nhwc(const float* in, const shape_t& in_shape, const attrs& a, float* out, const shape_t& out_shape);

/// Mean over H and W: [N,H,W,C] -> [N,1,1,C].
void global_avg_pool_nhwc(const float* in, const shape_t& in_shape, float* out);

void max_pool_nhwc(const float* in, const shape_t& in_shape, const attrs& a, float* out, const shape_t& out_shape);

/// out axis j = in axis perm[j].
void transpose(const float* in, const shape_t& in_shape, const std::vector<int64_t>& perm, float* out, int threads = 1);

void concat(const std::vector<const float*>& ins, const std::vector<shape_t>& shapes, int axis, float* out);

void split(const float* in, const shape_t& in_shape, int axis, const std::vector<float*>& outs,
           const std::vector<int64_t>& sizes);

/// TensorFlow's ResizeBilinear (half_pixel_centers / align_corners / legacy).
/// `scale_h` / `scale_w` > 0: ONNX Resize's scales, which map output to
/// input coordinates (out / scale) where the sizes' ratio would differ
/// (a size of 7.5 floored to 7).
void resize_bilinear_nhwc(const float* in, const shape_t& in_shape, bool half_pixel, bool align_corners, float* out,
                          const shape_t& out_shape, float scale_h = 0, float scale_w = 0);

void upsample_nhwc(const float* in, const shape_t& in_shape, int sy, int sx, float* out);

/// Darknet's reorg layer (forward, not reversed), reproducing its channel
/// order exactly, on NHWC data.
void reorg_nhwc(const float* in, const shape_t& in_shape, int stride, float* out, const shape_t& out_shape);

/// Darknet region (v2: softmax over classes) / yolo (v3: logistic) outputs.
void yolo_head_nhwc(const float* in, const shape_t& shape, int anchors, int classes, bool softmax_classes, float* out);

void softmax_last(const float* in, const shape_t& shape, float* out, int threads = 1);

/// ONNX Slice: `spec` as for op::slice (see slice_geometry).
void slice(const float* in, const shape_t& in_shape, const std::vector<int64_t>& spec, float* out);

} // namespace weaver::engine::kernels
