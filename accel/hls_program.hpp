// The host side of the weaver_dnn kernel's int8 programs (protocol version
// 2, accel/hls/weaver_dnn.hpp): layer descriptors and the constants they
// point at, laid out as the kernel reads them, and the kernel's
// C-simulation run with its status turned into an exception.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "accel/engine/executor.hpp"
#include "accel/engine/graph.hpp"
#include "accel/engine/int8_plan.hpp"
#include "accel/engine/quantize.hpp"
#include "accel/hls/weaver_dnn.hpp"

namespace weaver {

/// A tensor of codes in one of the kernel's spaces, NHWC with N = 1.
hls::view hls_view(hls::space s, int32_t offset, const engine::shape_t& nhwc, bool is_signed, int32_t cstride = 0,
                   int32_t coff = 0);

class hls_program {
public:
  /// Appends bytes to the weights buffer at a 64-byte (AXI beat) boundary;
  /// returns their offset.
  int32_t add_constant(const void* p, size_t bytes);

  /// A convolution: s8 HWIO weights, s32 bias (empty: none), one
  /// multiplier per output channel (and m_neg for leaky; otherwise empty).
  void add_conv(const hls::view& in, const hls::view& out, const engine::attrs& a, const std::vector<int8_t>& w,
                const std::vector<int32_t>& bias, const std::vector<engine::quant::fixed_multiplier>& m,
                const std::vector<engine::quant::fixed_multiplier>& m_neg);
  void add_maxpool(const hls::view& in, const hls::view& out, const engine::attrs& a);
  /// out = a * (sa / so) + b * (sb / so), each to 8 fractional bits first.
  void add_add(const hls::view& a, float sa, const hls::view& b, float sb, const hls::view& out, float so);
  /// Bilinear with the engine's tap rule (kernels::resize_bilinear_nhwc),
  /// fractions to Q8.
  void add_resize_bilinear(const hls::view& in, float s_in, const hls::view& out, float s_out, bool half_pixel,
                           bool align_corners);
  void add_copy(const hls::view& in, float s_in, const hls::view& out, float s_out);

  /// The program buffer: header then descriptors.
  std::vector<uint8_t> program(uint32_t input_stride, uint32_t output_stride, uint32_t input_bytes) const;
  const std::vector<uint8_t>& weights() const { return weights_; }
  size_t layers() const { return layers_.size(); }
  std::vector<hls::layer>& descriptors() { return layers_; } // tests: to break one on purpose

private:
  std::vector<hls::layer> layers_;
  std::vector<uint8_t> weights_;
};

/// Saturation bounds of a code type.
inline int32_t code_lo(bool is_signed) { return is_signed ? -128 : 0; }
inline int32_t code_hi(bool is_signed) { return is_signed ? 127 : 255; }

/// An int8 model (engine::with_int8) compiled for the weaver_dnn kernel:
/// what engine::plan_codes runs on codes (conv with none/relu/leaky, max
/// pool, add of equal shapes, bilinear resize, channel concat) runs there, at
/// the plan's scales; the rest (NanoDet: split, sigmoid, reshape) runs on the
/// host in float32 on the dequantized kernel outputs (yolov2-tiny: its
/// region layer). The int8 CPU session
/// follows the same plan with the same integer layers
/// (engine/int8_layers.hpp), so both compute the same codes.
class hls_network {
public:
  /// Throws engine::model_error for a float model ("runs int8 models only"),
  /// a kernel-only value consumed after a host node, or a host node the
  /// host side does not have.
  explicit hls_network(std::shared_ptr<const engine::model> m);
  float* input() { return input_.data(); } // f32 NHWC, as session::input()
  /// Quantizes the input, runs the kernel's C-simulation, dequantizes what
  /// the host needs and runs the host nodes.
  void run();

  // The same in steps, for a card that owns the buffers: the host quantizes
  // each image into the input buffer, the kernel runs, the host finishes
  // each image from its input codes and its output block.
  const std::vector<uint8_t>& program() const { return program_; }
  const std::vector<uint8_t>& weights() const { return prog_.weights(); }
  uint32_t input_stride() const { return input_stride_; } // bytes per image, aligned
  uint32_t output_stride() const { return work_bytes_; } // after the status page
  void quantize(const float* x, uint8_t* codes) const;
  void finish(const uint8_t* codes, const uint8_t* block);
  /// A value by name after run() (f32), nullptr when unknown.
  const float* value(const std::string& name);
  /// The kernel's codes of a value after run() (its code type in `type`),
  /// nullptr when the kernel does not compute it.
  const uint8_t* codes(const std::string& name, engine::code_type* type = nullptr) const;
  size_t kernel_layers() const { return prog_.layers(); }
  size_t host_nodes() const { return host_.size(); }

private:
  struct kvalue {
    bool in_kernel = false;
    hls::view view{};
    float scale = 1;
  };
  std::shared_ptr<const engine::model> m_;
  hls_program prog_;
  std::vector<uint8_t> program_, codes_in_, work_;
  std::vector<float> input_;
  std::vector<kvalue> kv_;
  std::vector<const engine::node*> host_;
  std::vector<int> exported_; // kernel values the host reads
  std::vector<std::vector<float>> f32_; // per value, when computed on (or copied to) the host
  uint32_t work_bytes_ = 0, input_stride_ = 0;
  const uint8_t *codes_ = nullptr, *block_ = nullptr; // of the last finish()
};

/// The kernel's status page words (status, layer) in words, e.g. "a
/// malformed layer (layer 3)"; the layer only when >= 0.
std::string hls_status_text(int32_t status, int32_t layer);

/// Runs the kernel's C-simulation; `output` holds the status page and
/// `batch` blocks. Throws std::runtime_error naming the status and the layer.
void hls_run(const std::vector<uint8_t>& program, const std::vector<uint8_t>& weights, const uint8_t* input,
             uint8_t* output, uint32_t batch);
void hls_run(const uint8_t* program, const uint8_t* weights, const uint8_t* input, uint8_t* output, uint32_t batch);

} // namespace weaver
