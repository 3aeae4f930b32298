#include "accel/hls_cycle_model.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "accel/engine/executor.hpp"
#include "accel/hls/weaver_dnn.hpp"

namespace weaver::hls_cycles {

namespace {
long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
} // namespace

std::vector<fpga_card> known_cards(const params& p) {
  const double gbs = 2 * axi_port_bytes * p.mhz * 1e6 / 1e9;
  return {{"U50", gbs, 5952}, {"U250", gbs, 12288}};
}

fpga_card card_named(const std::string& name, const params& p) {
  std::string known;
  for (const auto& c : known_cards(p)) {
    if (lower(c.name) == lower(name)) return c;
    known += (known.empty() ? "" : ", ") + c.name;
  }
  throw std::invalid_argument("unknown FPGA card '" + name + "' (known: " + known + ")");
}

array_size parse_array(const std::string& s) {
  array_size a{0, 0};
  char x = 0, extra = 0;
  std::istringstream in(s);
  if (!(in >> a.pe_m >> x >> a.pe_n) || (x != 'x' && x != 'X') || (in >> extra) || a.pe_m < 1 || a.pe_n < 1
      || a.pe_m > 1024 || a.pe_n > 1024)
    throw std::invalid_argument("PE array '" + s + "': expected MxN, e.g. 32x64 (1 to 1024 each)");
  return a;
}

layer_estimate estimate_layer(const layer_shape& l, array_size a, const fpga_card& card, const params& p) {
  layer_estimate e;
  const double in_bytes = static_cast<double>(l.h * l.w * l.c), out_bytes = static_cast<double>(l.ho * l.wo * l.co);
  if (l.kind == "conv" || l.kind == "dwconv") {
    const int ext = l.k;
    const long long tr = std::min<long long>(hls::tile_r, (hls::max_in_tile - ext) / l.stride + 1);
    const long long tc = std::min<long long>(hls::tile_c, (hls::max_in_tile - ext) / l.stride + 1);
    const long long tiles = ceil_div(l.ho, tr) * ceil_div(l.wo, tc);
    const double halo = static_cast<double>(((tr - 1) * l.stride + ext) * ((tc - 1) * l.stride + ext))
      / static_cast<double>(tr * l.stride * tc * l.stride);
    const double w_bytes = static_cast<double>(l.k * l.k * (l.c / l.groups) * l.co);
    if (l.kind == "dwconv") {
      const long long ct = ceil_div(l.co, a.pe_m);
      e.compute_cycles = static_cast<double>(ct * tiles * (l.k * l.k * tr * tc + p.tile_fill));
      e.bytes = in_bytes * halo + w_bytes * static_cast<double>(tiles) + out_bytes;
    } else {
      const long long cg = l.c / l.groups, cog = l.co / l.groups;
      const long long mt = ceil_div(cog, a.pe_m), nt = ceil_div(cg, a.pe_n);
      e.compute_cycles = static_cast<double>(l.groups * mt * tiles * nt * (l.k * l.k * tr * tc + p.tile_fill));
      e.bytes = in_bytes * halo * static_cast<double>(mt) + w_bytes * static_cast<double>(tiles) + out_bytes;
    }
  } else {
    e.compute_cycles = std::ceil(out_bytes / p.lanes);
    const double reads = l.kind == "add" ? 2 * out_bytes : l.kind == "resize" ? 4 * out_bytes : in_bytes;
    e.bytes = reads + out_bytes;
  }
  e.compute_ms = e.compute_cycles / (p.mhz * 1e3);
  e.memory_ms = e.bytes / (card.ddr_gbs * p.ddr_efficiency * 1e6);
  return e;
}

double frame_ms(const std::vector<layer_shape>& layers, array_size a, const fpga_card& c, const params& p) {
  double total = 0;
  for (const auto& l : layers) total += estimate_layer(l, a, c, p).ms();
  return total;
}

double frame_macs(const std::vector<layer_shape>& layers) {
  double macs = 0;
  for (const auto& l : layers)
    if (l.kind == "conv" || l.kind == "dwconv")
      macs += static_cast<double>(l.ho * l.wo * l.co) * l.k * l.k * static_cast<double>(l.c / l.groups);
  return macs;
}

std::vector<layer_shape> layers_of_model(const std::string& path, int width, int height) {
  auto m = engine::model::load(path, {}, 1, height, width);
  const auto& g = m->ir();
  std::vector<layer_shape> r;
  for (const auto& n : g.nodes) {
    auto shape = [&](int v) { return g.values[static_cast<size_t>(v)].shape; };
    using engine::op;
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

std::vector<layer_shape> layers_of_cfg(const std::string& path, int width, int height) {
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
  std::vector<std::array<long long, 3>> outs; // h, w, c per section
  long long h = height, w = width, c = 3;
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

std::vector<layer_shape> layers_of(const std::string& path, int width, int height) {
  const bool cfg = path.size() > 4 && path.compare(path.size() - 4, 4, ".cfg") == 0;
  return cfg ? layers_of_cfg(path, width, height) : layers_of_model(path, width, height);
}

} // namespace weaver::hls_cycles
