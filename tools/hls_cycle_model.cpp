// hls_cycle_model: how fast the weaver_dnn kernel (accel/hls/weaver_dnn.cpp)
// would run on an Alveo card, layer by layer: the tables of the cycle model
// in accel/hls_cycle_model.hpp (what it counts and what it leaves out are
// said there). It checks only the DSP count of an array size against the card's.
//
// Usage: hls_cycle_model [--model tools/data/models/nanodet.json]
//                        [--cfg /usr/share/darknet/cfg/yolov2.cfg] [--size 416] [--layers] [--lanes 1]
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "accel/hls/weaver_dnn.hpp"
#include "accel/hls_cycle_model.hpp"

namespace {

using namespace weaver::hls_cycles;
namespace hls = weaver::hls;

params model_params; // --lanes changes the lanes

void report(const std::string& name, const std::vector<layer_shape>& layers, bool per_layer) {
  const params& p = model_params;
  const auto cards = known_cards(p);
  const array_size sizes[] = {{hls::pe_m, hls::pe_n}, {32, 32}, {32, 64}, {64, 64}, {64, 128}, {128, 128}};
  const double macs = frame_macs(layers);
  std::printf("\n%s: %zu kernel layers, %.2f GMAC per frame\n", name.c_str(), layers.size(), macs / 1e9);
  if (per_layer) {
    const array_size a = sizes[2];
    std::printf("  per layer at %dx%d PEs, %.0f MHz, %.1f GB/s effective (U50/U250 alike):\n", a.pe_m, a.pe_n, p.mhz,
                cards[0].ddr_gbs * p.ddr_efficiency);
    std::printf("  %-8s %-18s %-18s %12s %10s %9s %9s %s\n", "kind", "in", "out", "cycles", "MB", "c-ms", "m-ms",
                "bound");
    for (const auto& l : layers) {
      const auto e = estimate_layer(l, a, cards[0], p);
      const double cms = e.compute_ms, mms = e.memory_ms;
      char in[32], out[32];
      std::snprintf(in, sizeof in, "%lldx%lldx%lld", static_cast<long long>(l.h), static_cast<long long>(l.w),
                    static_cast<long long>(l.c));
      std::snprintf(out, sizeof out, "%lldx%lldx%lld", static_cast<long long>(l.ho), static_cast<long long>(l.wo),
                    static_cast<long long>(l.co));
      std::printf("  %-8s %-18s %-18s %12.0f %10.2f %9.3f %9.3f %s\n", l.kind.c_str(), in, out, e.compute_cycles,
                  e.bytes / 1e6, cms, mms, cms >= mms ? "compute" : "memory");
    }
  }
  std::printf("  %-5s %-7s %6s %10s %10s %10s %10s %8s %9s\n", "card", "PEs", "DSPs", "compute ms", "memory ms",
              "other ms", "frame ms", "fps", "ideal fps");
  for (const auto& c : cards)
    for (const auto& a : sizes) {
      const int dsps = a.pe_m * a.pe_n / 2; // two int8 MACs per DSP48E2
      if (dsps > c.dsps * 3 / 4) continue; // leave room for the rest
      double total = 0, comp = 0, mem = 0, other = 0;
      for (const auto& l : layers) {
        const auto e = estimate_layer(l, a, c, p);
        const double cms = e.compute_ms, mms = e.memory_ms;
        comp += cms;
        mem += mms;
        total += std::max(cms, mms);
        if (l.kind != "conv" && l.kind != "dwconv") other += std::max(cms, mms);
      }
      // ideal: every PE busy every cycle on the convolutions, nothing else.
      const double ideal = macs / (static_cast<double>(a.pe_m) * a.pe_n * p.mhz * 1e6);
      std::printf("  %-5s %3dx%-3d %6d %10.2f %10.2f %10.2f %10.2f %8.1f %9.1f\n", c.name.c_str(), a.pe_m, a.pe_n, dsps,
                  comp, mem, other, total, 1000.0 / total, 1.0 / ideal);
    }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app("weaver_dnn cycle model: per-layer cycles, bytes and estimated fps on Alveo U50 / U250 at 300 MHz");
  std::string model = "tools/data/models/nanodet.json"; // from the repository root
  std::string cfg = "/usr/share/darknet/cfg/yolov2.cfg";
  int size = 416;
  bool layers = false;
  app.add_option("--model", model, "TF.js / ONNX model (NanoDet)");
  app.add_option("--cfg", cfg, "Darknet cfg (YOLOv2)");
  app.add_option("--size", size, "square input size");
  app.add_flag("--layers", layers, "print every layer (at 32x64 PEs)");
  app.add_option("--lanes", model_params.lanes, "elements per cycle of pool/add/resize/copy (the kernel: 1)")
    ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  try {
    std::printf(
      "weaver_dnn cycle model: %.0f MHz, DDR at %.0f%% of 2 AXI ports x 64 B x clock, tile fill %lld cycles\n",
      model_params.mhz, model_params.ddr_efficiency * 100, model_params.tile_fill);
    report("NanoDet " + std::to_string(size) + "x" + std::to_string(size), layers_of_model(model, size, size), layers);
    report("YOLOv2 " + std::to_string(size) + "x" + std::to_string(size), layers_of_cfg(cfg, size, size), layers);
    report("YOLOv2 448x448", layers_of_cfg(cfg, 448, 448), false);
    std::printf("\nPublished for comparison: Vitis AI DPU on Alveo U50, YOLOv2 448x448: ~164 fps.\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hls_cycle_model: %s\n", e.what());
    return 1;
  }
}
