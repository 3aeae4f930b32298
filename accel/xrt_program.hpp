// What the weaver_dnn kernel is given besides images: the compiled network
// as a program buffer (FlatBuffer weaver.xrt.Program, schemas/
// xrt_program.fbs) and its constants as a weights buffer, both built from an
// engine::model. And the kernel's host-side C-simulation, which rebuilds the
// network from those two buffers alone: under XRT's noop shim it supplies
// the numbers the FPGA would have computed. Protocol: accel/xrt_protocol.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "accel/engine/executor.hpp"

namespace weaver {

/// A tensor the host needs back from a run, by value name in the compiled
/// graph (dnn_detector::host_tensors gives these).
struct xrt_tensor {
  std::string name;
  int graph_output = -1; // index among the graph's outputs, -1 when intermediate
};

/// Where things are in the buffers for one compiled network.
struct xrt_layout {
  engine::shape_t input_shape; // one image, NHWC f32
  size_t input_bytes = 0; // one image
  size_t input_stride = 0; // aligned: image i starts at i * input_stride
  struct slot {
    std::string name;
    engine::shape_t shape;
    size_t offset = 0; // in an image's output block, aligned
    size_t bytes = 0;
  };
  std::vector<slot> outputs; // in the order they were asked for
  size_t output_stride = 0; // aligned: image i's block at i * output_stride
  size_t weights_bytes = 0;
  size_t program_bytes = 0;
};

/// The program and weights of one model, ready to copy into buffer objects.
class xrt_program {
public:
  /// Throws engine::model_error when a tensor is missing or ambiguous.
  xrt_program(std::shared_ptr<const engine::model> m, const std::vector<xrt_tensor>& needed);
  const xrt_layout& layout() const { return layout_; }
  const std::vector<uint8_t>& program() const { return program_; }
  /// Writes the constants at their offsets (zero padding between them);
  /// `dst` holds layout().weights_bytes.
  void write_weights(uint8_t* dst) const;

private:
  struct constant {
    size_t offset;
    const float* data;
    size_t count;
  };
  std::shared_ptr<const engine::model> model_; // keeps the constants alive
  std::vector<constant> constants_;
  std::vector<uint8_t> program_;
  xrt_layout layout_;
};

/// FNV-1a 64 over bytes: the weights checksum of the program.
uint64_t xrt_checksum(const uint8_t* p, size_t n);

/// The weaver_dnn kernel simulated on the host: the network rebuilt from the
/// program and weights buffers (nothing else), run per image.
class xrt_kernel_emulator {
public:
  /// Throws std::runtime_error when the program does not verify, has another
  /// protocol version, or the weights do not match its size and checksum.
  xrt_kernel_emulator(const uint8_t* program, size_t program_bytes, const uint8_t* weights, size_t weights_bytes,
                      int threads = 1);
  ~xrt_kernel_emulator();
  /// One kernel run: `batch` images at the program's input stride in,
  /// their output blocks out.
  void run(const uint8_t* input, uint8_t* output, uint32_t batch);
  const engine::model& model() const;

private:
  struct impl;
  std::unique_ptr<impl> p_;
};

} // namespace weaver
