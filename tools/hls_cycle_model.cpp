// hls_cycle_model: how fast the weaver_dnn kernel (accel/hls/weaver_dnn.cpp)
// would run on an Alveo card, layer by layer, from the loop structure of the
// kernel as written:
//   conv      per group, output-channel tile (pe_m), output tile (tile_r x
//             tile_c), input-channel tile (pe_n): one cycle per output pixel
//             per window tap (the PE array's pipelined loop, II = 1), plus a
//             pipeline fill per tile; depthwise: pe_m channels per cycle.
//             Bytes: the input window of every output tile once per output-
//             channel tile (with its halo), the weights once per output tile,
//             the outputs once; loads overlap compute (ping-pong buffers), so
//             a layer takes max(compute, bytes / bandwidth).
//   maxpool / add / resize / copy   one element per cycle (the kernel's II=1
//             loops over channels), or bytes / bandwidth; a concat is one copy
//             per input (as hls_network compiles it).
// A model, not a measurement: it leaves out the DDR/HBM efficiency beyond
// the factor given (refresh, bank conflicts, short bursts at tile edges),
// the kernel's start and the host's syncs per frame, the clock the design
// would really close at, and the resources the array sizes need (it checks
// only the DSP count against the card's).
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

#include "accel/engine/executor.hpp"
#include "accel/hls/weaver_dnn.hpp"

namespace {

namespace hls = weaver::hls;

struct layer_shape {
  std::string kind; // conv, dwconv, maxpool, add, resize, copy
  int64_t h = 0, w = 0, c = 0; // input
  int64_t ho = 0, wo = 0, co = 0; // output
  int k = 1, stride = 1, groups = 1;
};

struct card {
  const char* name;
  double ddr_gbs; // peak bandwidth the kernel's two AXI ports can reach
  int dsps;
};

struct array_size {
  int pe_m, pe_n;
};

constexpr double mhz = 300.0;
constexpr double ddr_efficiency = 0.7; // of peak, long bursts
constexpr int64_t tile_fill = 24; // cycles to fill the PE pipeline per tile
constexpr int axi_port_bytes = 64; // per cycle per port (512 bits)
int lanes = 1; // elements per cycle of the non-conv layers (the kernel as written: 1)

struct estimate {
  double compute_cycles = 0, bytes = 0;
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

estimate model_layer(const layer_shape& l, array_size a) {
  estimate e;
  const double in_bytes = static_cast<double>(l.h * l.w * l.c), out_bytes = static_cast<double>(l.ho * l.wo * l.co);
  if (l.kind == "conv" || l.kind == "dwconv") {
    const int ext = l.k;
    const int64_t tr = std::min<int64_t>(hls::tile_r, (hls::max_in_tile - ext) / l.stride + 1);
    const int64_t tc = std::min<int64_t>(hls::tile_c, (hls::max_in_tile - ext) / l.stride + 1);
    const int64_t tiles = ceil_div(l.ho, tr) * ceil_div(l.wo, tc);
    const double halo = static_cast<double>(((tr - 1) * l.stride + ext) * ((tc - 1) * l.stride + ext))
      / static_cast<double>(tr * l.stride * tc * l.stride);
    const double w_bytes = static_cast<double>(l.k * l.k * (l.c / l.groups) * l.co);
    if (l.kind == "dwconv") {
      const int64_t ct = ceil_div(l.co, a.pe_m);
      e.compute_cycles = static_cast<double>(ct * tiles * (l.k * l.k * tr * tc + tile_fill));
      e.bytes = in_bytes * halo + w_bytes * static_cast<double>(tiles) + out_bytes;
    } else {
      const int64_t cg = l.c / l.groups, cog = l.co / l.groups;
      const int64_t mt = ceil_div(cog, a.pe_m), nt = ceil_div(cg, a.pe_n);
      e.compute_cycles = static_cast<double>(l.groups * mt * tiles * nt * (l.k * l.k * tr * tc + tile_fill));
      e.bytes = in_bytes * halo * static_cast<double>(mt) + w_bytes * static_cast<double>(tiles) + out_bytes;
    }
  } else {
    e.compute_cycles = std::ceil(out_bytes / lanes);
    const double reads = l.kind == "add" ? 2 * out_bytes : l.kind == "resize" ? 4 * out_bytes : in_bytes;
    e.bytes = reads + out_bytes;
  }
  return e;
}

std::vector<layer_shape> from_graph(const std::string& path, int size) {
  auto m = weaver::engine::model::load(path, {}, 1, size, size);
  const auto& g = m->ir();
  std::vector<layer_shape> r;
  for (const auto& n : g.nodes) {
    auto shape = [&](int v) { return g.values[static_cast<size_t>(v)].shape; };
    using weaver::engine::op;
    layer_shape l;
    if (n.kind == op::conv2d) {
      const auto& ws = shape(n.in[1]);
      l.kind = ws[2] == 1 && n.a.groups > 1 ? "dwconv" : "conv";
      l.k = static_cast<int>(std::max(ws[0], ws[1]));
      l.stride = n.a.stride[0];
      l.groups = n.a.groups;
    } else if (n.kind == op::max_pool) {
      l.kind = "maxpool";
    } else if (n.kind == op::add) {
      l.kind = "add";
    } else if (n.kind == op::resize_bilinear || n.kind == op::upsample) {
      l.kind = "resize";
    } else if (n.kind == op::concat) {
      for (int v : n.in) { // hls_network copies each input into its slice
        const auto& is = shape(v);
        if (is.size() != 4) continue;
        layer_shape c;
        c.kind = "copy";
        c.h = c.ho = is[1], c.w = c.wo = is[2], c.c = c.co = is[3];
        r.push_back(c);
      }
      continue;
    } else {
      continue; // reshape, split (views); sigmoid and heads on the host
    }
    const auto &is = shape(n.in[0]), &os = shape(n.out[0]);
    if (is.size() != 4 || os.size() != 4) continue;
    l.h = is[1], l.w = is[2], l.c = is[3], l.ho = os[1], l.wo = os[2], l.co = os[3];
    r.push_back(l);
  }
  return r;
}

/// Darknet cfg: conv / maxpool / route / reorg shapes only (no weights).
std::vector<layer_shape> from_cfg(const std::string& path, int size) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> secs;
  for (std::string line; std::getline(in, line);) {
    line.erase(std::remove_if(line.begin(), line.end(), [](char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }),
               line.end());
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[')
      secs.push_back({line.substr(1, line.find(']') - 1), {}});
    else if (auto eq = line.find('='); eq != std::string::npos && !secs.empty())
      secs.back().second[line.substr(0, eq)] = line.substr(eq + 1);
  }
  auto get = [](const std::map<std::string, std::string>& kv, const char* k, int d) {
    auto it = kv.find(k);
    return it == kv.end() ? d : std::stoi(it->second);
  };
  std::vector<layer_shape> r;
  std::vector<std::array<int64_t, 3>> outs; // h, w, c per section
  int64_t h = size, w = size, c = 3;
  for (size_t i = 1; i < secs.size(); ++i) {
    const auto& [type, kv] = secs[i];
    layer_shape l;
    l.h = h, l.w = w, l.c = c;
    if (type == "convolutional") {
      l.k = get(kv, "size", 1);
      l.stride = get(kv, "stride", 1);
      l.groups = get(kv, "groups", 1);
      const int pad = get(kv, "pad", 0) ? l.k / 2 : 0;
      l.co = get(kv, "filters", 1);
      l.ho = (h + 2 * pad - l.k) / l.stride + 1;
      l.wo = (w + 2 * pad - l.k) / l.stride + 1;
      l.kind = l.groups > 1 && l.groups == c ? "dwconv" : "conv";
      r.push_back(l);
      h = l.ho, w = l.wo, c = l.co;
    } else if (type == "maxpool") {
      const int s = get(kv, "stride", 1);
      l.kind = "maxpool";
      l.k = get(kv, "size", s);
      l.stride = s;
      l.ho = (h + s - 1) / s, l.wo = (w + s - 1) / s, l.co = c; // darknet's padding keeps ceil
      r.push_back(l);
      h = l.ho, w = l.wo;
    } else if (type == "route") {
      std::stringstream ss(kv.at("layers"));
      c = 0;
      for (std::string t; std::getline(ss, t, ',');) {
        int k = std::stoi(t);
        if (k < 0) k += static_cast<int>(i) - 1;
        h = outs.at(static_cast<size_t>(k))[0], w = outs.at(static_cast<size_t>(k))[1];
        c += outs.at(static_cast<size_t>(k))[2];
      }
    } else if (type == "reorg") {
      const int s = get(kv, "stride", 2);
      l.kind = "copy"; // a space-to-depth move
      l.ho = h / s, l.wo = w / s, l.co = c * s * s;
      r.push_back(l);
      h = l.ho, w = l.wo, c = l.co;
    }
    outs.push_back({h, w, c});
  }
  return r;
}

void report(const std::string& name, const std::vector<layer_shape>& layers, bool per_layer) {
  const card cards[] = {{"U50", 2 * axi_port_bytes * mhz * 1e6 / 1e9, 5952},
                        {"U250", 2 * axi_port_bytes * mhz * 1e6 / 1e9, 12288}};
  const array_size sizes[] = {{hls::pe_m, hls::pe_n}, {32, 32}, {32, 64}, {64, 64}, {64, 128}, {128, 128}};
  double macs = 0;
  for (const auto& l : layers)
    if (l.kind == "conv" || l.kind == "dwconv")
      macs += static_cast<double>(l.ho * l.wo * l.co) * l.k * l.k * static_cast<double>(l.c / l.groups);
  std::printf("\n%s: %zu kernel layers, %.2f GMAC per frame\n", name.c_str(), layers.size(), macs / 1e9);
  if (per_layer) {
    const array_size a = sizes[2];
    std::printf("  per layer at %dx%d PEs, %.0f MHz, %.1f GB/s effective (U50/U250 alike):\n", a.pe_m, a.pe_n, mhz,
                cards[0].ddr_gbs * ddr_efficiency);
    std::printf("  %-8s %-18s %-18s %12s %10s %9s %9s %s\n", "kind", "in", "out", "cycles", "MB", "c-ms", "m-ms",
                "bound");
    for (const auto& l : layers) {
      const auto e = model_layer(l, a);
      const double cms = e.compute_cycles / (mhz * 1e3), mms = e.bytes / (cards[0].ddr_gbs * ddr_efficiency * 1e6);
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
        const auto e = model_layer(l, a);
        const double cms = e.compute_cycles / (mhz * 1e3), mms = e.bytes / (c.ddr_gbs * ddr_efficiency * 1e6);
        comp += cms;
        mem += mms;
        total += std::max(cms, mms);
        if (l.kind != "conv" && l.kind != "dwconv") other += std::max(cms, mms);
      }
      // ideal: every PE busy every cycle on the convolutions, nothing else.
      const double ideal = macs / (static_cast<double>(a.pe_m) * a.pe_n * mhz * 1e6);
      std::printf("  %-5s %3dx%-3d %6d %10.2f %10.2f %10.2f %10.2f %8.1f %9.1f\n", c.name, a.pe_m, a.pe_n, dsps, comp,
                  mem, other, total, 1000.0 / total, 1.0 / ideal);
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
  app.add_option("--lanes", lanes, "elements per cycle of pool/add/resize/copy (the kernel: 1)")
    ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  try {
    std::printf(
      "weaver_dnn cycle model: %.0f MHz, DDR at %.0f%% of 2 AXI ports x 64 B x clock, tile fill %lld cycles\n", mhz,
      ddr_efficiency * 100, static_cast<long long>(tile_fill));
    report("NanoDet " + std::to_string(size) + "x" + std::to_string(size), from_graph(model, size), layers);
    report("YOLOv2 " + std::to_string(size) + "x" + std::to_string(size), from_cfg(cfg, size), layers);
    report("YOLOv2 448x448", from_cfg(cfg, 448), false);
    std::printf("\nPublished for comparison: Vitis AI DPU on Alveo U50, YOLOv2 448x448: ~164 fps.\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hls_cycle_model: %s\n", e.what());
    return 1;
  }
}
