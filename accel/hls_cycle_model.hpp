// The weaver_dnn kernel's cycle model (accel/hls/weaver_dnn.cpp): how long a
// frame would take on an Alveo card, layer by layer, from the loop structure
// of the kernel as written:
//   conv      per group, output-channel tile (pe_m), output tile (tile_r x
//             tile_c), input-channel tile (pe_n): one cycle per output pixel
//             per window tap (the PE array's pipelined loop, II = 1), plus a
//             pipeline fill per tile; depthwise: pe_m channels per cycle.
//             Bytes: the input window of every output tile once per output-
//             channel tile (with its halo), the weights once per output tile,
//             the outputs once; loads overlap compute (ping-pong buffers), so
//             a layer takes max(compute, bytes / bandwidth).
//   maxpool / add / resize / copy   `lanes` elements per cycle (the kernel's
//             II=1 loops over channels: 1), or bytes / bandwidth; a concat is
//             one copy per input (as hls_network compiles it).
// A model, not a measurement: it leaves out the DDR/HBM efficiency beyond
// the factor given (refresh, bank conflicts, short bursts at tile edges),
// the kernel's start and the host's syncs per frame, the clock the design
// would really close at, and the resources the array sizes need.
//
// tools/hls_cycle_model prints its tables; a sim card can take its service
// time from it (sim_card_options::fpga), so the pool runs with FPGA cards
// of a realistic speed.
#pragma once

#include <string>
#include <vector>

namespace weaver::hls_cycles {

/// One kernel layer's shapes (NHWC, batch 1).
struct layer_shape {
  std::string kind; // conv, dwconv, maxpool, add, resize, copy
  long long h = 0, w = 0, c = 0; // input
  long long ho = 0, wo = 0, co = 0; // output
  int k = 1, stride = 1, groups = 1;
};

struct fpga_card {
  std::string name;
  double ddr_gbs; // peak bandwidth the kernel's two AXI ports can reach
  int dsps;
};

struct array_size {
  int pe_m, pe_n;
};

struct params {
  double mhz = 300.0;
  double ddr_efficiency = 0.7; // of peak, long bursts
  long long tile_fill = 24; // cycles to fill the PE pipeline per tile
  int lanes = 1; // elements per cycle of the non-conv layers (the kernel as written: 1)
};

/// Two 512-bit AXI ports at the clock: 2 x 64 B x 300 MHz = 38.4 GB/s.
constexpr int axi_port_bytes = 64;

/// Alveo U50 and U250 (DSP48E2 counts from their data sheets).
std::vector<fpga_card> known_cards(const params& p = {});
/// The card of that name (case-insensitive); std::invalid_argument naming the known ones.
fpga_card card_named(const std::string& name, const params& p = {});
/// "32x64" -> {32, 64}; std::invalid_argument on anything else.
array_size parse_array(const std::string& s);

struct layer_estimate {
  double compute_cycles = 0, bytes = 0;
  double compute_ms = 0, memory_ms = 0;
  double ms() const { return compute_ms > memory_ms ? compute_ms : memory_ms; }
};

layer_estimate estimate_layer(const layer_shape& l, array_size a, const fpga_card& c, const params& p = {});
/// The frame's time: the sum over layers of max(compute, memory).
double frame_ms(const std::vector<layer_shape>& layers, array_size a, const fpga_card& c, const params& p = {});
/// Multiply-accumulates per frame of the (dw)conv layers.
double frame_macs(const std::vector<layer_shape>& layers);

/// The kernel layers of a TF.js / ONNX model at an input size, as hls_network
/// compiles them (conv, max pool, add, resize, one copy per concat input).
std::vector<layer_shape> layers_of_model(const std::string& path, int width, int height);
/// The layers of a Darknet cfg (conv, maxpool, route, reorg; no weights needed).
std::vector<layer_shape> layers_of_cfg(const std::string& path, int width, int height);
/// By file type: *.cfg a Darknet cfg, else a model the engine loads.
std::vector<layer_shape> layers_of(const std::string& path, int width, int height);

} // namespace weaver::hls_cycles
