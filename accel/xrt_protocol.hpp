// The host <-> kernel contract of the `weaver_dnn` FPGA kernel: argument
// order, buffer alignment and the xclbin metadata that describes it. Kept
// apart from the card so the xclbin writer, the card and the (later) kernel
// source agree on one definition. The prose is accel/xrt_protocol.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weaver::xrt_protocol {

/// Protocol version, written into every program buffer; the kernel refuses a
/// program of another version instead of misreading it.
constexpr uint32_t version = 1;
/// Version 2: int8 programs, the layer stream of the weaver_dnn kernel
/// (accel/hls/weaver_dnn.hpp; same arguments, bytes instead of floats).
constexpr uint32_t int8_version = 2;

/// Kernel argument indices (the `id` of each <arg> in the xclbin's metadata).
enum arg : int {
  arg_input = 0, // global: batch images, f32 NHWC, image stride from the program
  arg_weights = 1, // global: the compiled graph's f32 constants at aligned offsets
  arg_program = 2, // global: FlatBuffer weaver.xrt.Program (schemas/xrt_program.fbs)
  arg_output = 3, // global: per image, the host's tensors at aligned offsets
  arg_batch = 4, // scalar u32: images in this run, 1..max batch
  arg_count = 5,
};

/// Every buffer and every tensor inside one starts on this boundary: the
/// page size (host DMA maps whole pages) and a multiple of any AXI burst.
constexpr size_t alignment = 4096;

constexpr size_t align_up(size_t n) { return (n + alignment - 1) / alignment * alignment; }

/// Control-register offsets of the arguments as Vitis HLS lays out an
/// s_axilite interface: 0x00-0x0c control/interrupt registers, then 64-bit
/// pointers every 12 bytes, then the scalar.
constexpr uint32_t register_offset[arg_count] = {0x10, 0x1c, 0x28, 0x34, 0x40};

constexpr const char* default_kernel = "weaver_dnn";

} // namespace weaver::xrt_protocol
