#include "accel/engine/darknet_import.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace weaver::engine {

namespace {

struct section {
  std::string type;
  int line = 0;
  std::map<std::string, std::string> kv;
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<section> parse_cfg(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw model_error("darknet cfg: cannot open " + path);
  std::vector<section> out;
  std::string line;
  int no = 0;
  while (std::getline(in, line)) {
    ++no;
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      auto close = line.find(']');
      if (close == std::string::npos) throw model_error(path + ":" + std::to_string(no) + ": bad section header");
      out.push_back({line.substr(1, close - 1), no, {}});
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || out.empty())
      throw model_error(path + ":" + std::to_string(no) + ": expected key=value inside a section");
    out.back().kv[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  if (out.empty() || (out[0].type != "net" && out[0].type != "network"))
    throw model_error(path + ": the first section must be [net]");
  return out;
}

struct reader {
  const std::string& path;
  const section& s;
  int index; // layer index, -1 for [net]
  std::string where() const {
    return path + ":" + std::to_string(s.line) + " [" + s.type + "]"
      + (index >= 0 ? " (layer " + std::to_string(index) + ")" : "");
  }
  int i(const char* key, int dflt) const {
    auto it = s.kv.find(key);
    return it == s.kv.end() ? dflt : to_int(key, it->second);
  }
  int to_int(const char* key, const std::string& text) const {
    try {
      size_t end = 0;
      int v = std::stoi(text, &end);
      if (trim(text.substr(end)).empty()) return v;
    } catch (const std::exception&) {}
    throw model_error(where() + ": " + key + " is not an integer: " + text);
  }
  std::string str(const char* key, const std::string& dflt) const {
    auto it = s.kv.find(key);
    return it == s.kv.end() ? dflt : it->second;
  }
  std::vector<float> floats(const char* key) const {
    std::vector<float> v;
    std::stringstream ss(str(key, ""));
    std::string tok;
    while (std::getline(ss, tok, ','))
      if (!trim(tok).empty()) {
        try {
          v.push_back(std::stof(tok));
        } catch (const std::exception&) {
          throw model_error(where() + ": " + key + " is not a list of numbers: " + str(key, ""));
        }
      }
    return v;
  }
};

// Darknet's default activation is logistic for convolutions, linear for
// shortcuts.
act activation_of(const reader& r, const char* dflt = "logistic") {
  auto a = r.str("activation", dflt);
  if (a == "leaky") return act::leaky;
  if (a == "linear") return act::none;
  if (a == "relu") return act::relu;
  if (a == "logistic") return act::sigmoid;
  throw model_error(r.where() + ": activation " + a + " is not supported");
}

struct weight_file {
  std::string bytes;
  size_t off = 0;
  std::string path;
  std::vector<float> take(size_t n, const std::string& what) {
    // Overflow-safe: a hostile cfg (negative channels) asks for a count whose
    // byte size wraps around (found by fuzz_model).
    if (n > (bytes.size() - off) / 4)
      throw model_error("darknet weights truncated: " + path + " ends at byte " + std::to_string(bytes.size()) + " but "
                        + what + " needs " + std::to_string(n * 4) + " bytes from byte " + std::to_string(off));
    std::vector<float> v(n);
    if (n > 0) std::memcpy(v.data(), bytes.data() + off, n * 4); // never memcpy from/to null
    off += n * 4;
    return v;
  }
};

weight_file open_weights(const std::string& path) {
  weight_file w;
  w.path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_error("darknet weights: cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  w.bytes = ss.str();
  if (w.bytes.size() < 16) throw model_error("darknet weights: " + path + " has no header");
  int32_t major, minor, revision;
  std::memcpy(&major, w.bytes.data(), 4);
  std::memcpy(&minor, w.bytes.data() + 4, 4);
  std::memcpy(&revision, w.bytes.data() + 8, 4);
  // Version 0.2 and later store `seen` as a 64-bit count, older as 32-bit.
  // (Bounds first: a hostile header's major * 10 overflowed, found by fuzz_model.)
  bool wide = major >= 0 && minor >= 0 && major < 1000 && minor < 1000 && (major * 10 + minor) >= 2;
  w.off = 12 + (wide ? 8 : 4);
  // A wide header needs 20 bytes: 16 to 19 put the reader past the end, and
  // every later bounds check wrapped around (found by fuzz_model).
  if (w.bytes.size() < w.off) throw model_error("darknet weights: " + path + " has no header");
  return w;
}

darknet_model_info walk(const std::string& cfg, graph* g, weight_file* wf) {
  auto secs = parse_cfg(cfg);
  darknet_model_info info;
  reader net{cfg, secs[0], -1};
  info.width = net.i("width", 0);
  info.height = net.i("height", 0);
  info.channels = net.i("channels", 3);
  if (info.width <= 0 || info.height <= 0) throw model_error(net.where() + ": width and height must be set");
  if (info.channels <= 0) throw model_error(net.where() + ": channels must be positive");

  struct out_desc {
    int value = -1;
    int h = 0, w = 0, c = 0;
  };
  std::vector<out_desc> layers;
  out_desc cur;
  cur.h = info.height;
  cur.w = info.width;
  cur.c = info.channels;
  if (g) {
    g->format = "darknet";
    value in;
    in.name = "input";
    in.shape = {1, info.height, info.width, info.channels};
    cur.value = g->add_value(std::move(in));
    g->inputs.push_back(cur.value);
  }
  auto layer_ref = [&](const reader& r, int rel) {
    int idx = rel < 0 ? static_cast<int>(layers.size()) + rel : rel;
    if (idx < 0 || idx >= static_cast<int>(layers.size()))
      throw model_error(r.where() + ": refers to layer " + std::to_string(rel) + ", out of range");
    return layers[static_cast<size_t>(idx)];
  };
  for (size_t k = 1; k < secs.size(); ++k) {
    int index = static_cast<int>(k) - 1;
    reader r{cfg, secs[k], index};
    const std::string& t = secs[k].type;
    std::string name = "layer_" + std::to_string(index);
    out_desc next = cur;
    attrs a;
    if (t == "convolutional" || t == "conv") {
      int filters = r.i("filters", 1), size = r.i("size", 1), stride = r.i("stride", 1);
      int pad = r.i("pad", 0) ? size / 2 : r.i("padding", 0);
      int groups = r.i("groups", 1);
      bool bn = r.i("batch_normalize", 0) != 0;
      if (filters <= 0 || size <= 0 || stride <= 0 || groups <= 0 || cur.c % groups)
        throw model_error(r.where() + ": bad filters/size/stride/groups");
      next.c = filters;
      next.h = (cur.h + 2 * pad - size) / stride + 1;
      next.w = (cur.w + 2 * pad - size) / stride + 1;
      act activation = activation_of(r);
      if (g) {
        const int cg = cur.c / groups;
        auto biases = wf->take(static_cast<size_t>(filters), name + " biases");
        std::vector<float> scales, mean, var;
        if (bn) {
          scales = wf->take(static_cast<size_t>(filters), name + " scales");
          mean = wf->take(static_cast<size_t>(filters), name + " rolling mean");
          var = wf->take(static_cast<size_t>(filters), name + " rolling variance");
        }
        auto wts = wf->take(static_cast<size_t>(filters) * cg * size * size, name + " weights");
        // Darknet stores filters [out][in][kh][kw]; the engine uses HWIO.
        tensor_data w;
        w.shape = {size, size, cg, filters};
        w.f.resize(wts.size());
        for (int o = 0; o < filters; ++o)
          for (int i = 0; i < cg; ++i)
            for (int y = 0; y < size; ++y)
              for (int x = 0; x < size; ++x)
                w.f[((static_cast<size_t>(y) * size + x) * cg + i) * filters + o] =
                  wts[((static_cast<size_t>(o) * cg + i) * size + y) * size + x];
        a.stride = {stride, stride};
        a.pads = {pad, pad, pad, pad};
        a.groups = groups;
        int v = g->nodes[g->add_node(op::conv2d, bn ? name + "/conv" : name + "/conv",
                                     {cur.value, g->add_const(name + "/filter", std::move(w))}, a, 1, "convolutional")]
                  .out[0];
        auto per_channel = [&](std::string nm, std::vector<float> d) {
          tensor_data t;
          t.shape = {filters};
          t.f = std::move(d);
          return g->add_const(std::move(nm), std::move(t));
        };
        if (bn) {
          // Darknet normalises by sqrt(var) + 1e-6 (not sqrt(var + eps)).
          std::vector<float> mul(static_cast<size_t>(filters)), add(static_cast<size_t>(filters));
          for (size_t c = 0; c < mul.size(); ++c) {
            mul[c] = scales[c] / (std::sqrt(var[c]) + .000001f);
            add[c] = biases[c] - mean[c] * mul[c];
          }
          v = g->nodes[g->add_node(op::mul, name + "/bn_scale", {v, per_channel(name + "/bn_mul", mul)}, {}, 1,
                                   "batch_normalize")]
                .out[0];
          biases = add;
        }
        attrs act_a;
        act_a.activation = activation;
        act_a.alpha = 0.1f;
        bool has_act = activation != act::none;
        v = g->nodes[g->add_node(op::add, has_act ? name + "/bias" : name, {v, per_channel(name + "/biases", biases)},
                                 {}, 1, "bias")]
              .out[0];
        if (has_act) v = g->nodes[g->add_node(op::activation, name, {v}, act_a, 1, "activation")].out[0];
        next.value = v;
      }
    } else if (t == "maxpool" || t == "max") {
      int size = r.i("size", r.i("stride", 1)), stride = r.i("stride", 1);
      int padding = r.i("padding", size - 1);
      // (A stride of 0 divided by zero: found by fuzz_model.)
      if (size <= 0 || stride <= 0 || padding < 0) throw model_error(r.where() + ": bad size/stride/padding");
      next.h = (cur.h + padding - size) / stride + 1;
      next.w = (cur.w + padding - size) / stride + 1;
      if (g) {
        a.kernel = {size, size};
        a.stride = {stride, stride};
        // Darknet offsets the window by -padding/2; the rest pads the far
        // side. Padding by the whole `padding` in total gives Darknet's
        // (w + padding - size)/stride + 1 at any input size (the size can be
        // changed after import), not only at the cfg's.
        int lo = padding / 2;
        a.pads = {lo, lo, padding - lo, padding - lo};
        next.value = g->nodes[g->add_node(op::max_pool, name, {cur.value}, a, 1, "maxpool")].out[0];
      }
    } else if (t == "route") {
      std::vector<int> ins;
      next.c = 0;
      std::stringstream ss(r.str("layers", ""));
      std::string tok;
      bool first = true;
      while (std::getline(ss, tok, ',')) {
        if (trim(tok).empty()) continue;
        auto l = layer_ref(r, r.to_int("layers", trim(tok)));
        if (!first && (l.h != next.h || l.w != next.w)) throw model_error(r.where() + ": routed layers differ in size");
        next.h = l.h;
        next.w = l.w;
        next.c += l.c;
        ins.push_back(l.value);
        first = false;
      }
      if (ins.empty()) throw model_error(r.where() + ": layers= is empty");
      if (g) {
        a.axis = 3;
        next.value =
          g->nodes[g->add_node(ins.size() == 1 ? op::identity : op::concat, name, ins, a, 1, "route")].out[0];
      }
    } else if (t == "reorg") {
      int s = r.i("stride", 1);
      if (r.i("reverse", 0)) throw model_error(r.where() + ": reverse reorg is not supported");
      if (cur.h % s || cur.w % s) throw model_error(r.where() + ": input not divisible by stride");
      next.h = cur.h / s;
      next.w = cur.w / s;
      next.c = cur.c * s * s;
      if (g) {
        a.stride = {s, s};
        next.value = g->nodes[g->add_node(op::reorg, name, {cur.value}, a, 1, "reorg")].out[0];
      }
    } else if (t == "upsample") {
      int s = r.i("stride", 2);
      if (s <= 0) throw model_error(r.where() + ": only positive (up) strides are supported");
      if (r.str("scale", "1") != "1") throw model_error(r.where() + ": scale is not supported");
      next.h = cur.h * s;
      next.w = cur.w * s;
      if (g) {
        a.stride = {s, s};
        next.value = g->nodes[g->add_node(op::upsample, name, {cur.value}, a, 1, "upsample")].out[0];
      }
    } else if (t == "shortcut") {
      auto from = layer_ref(r, r.i("from", -1));
      if (from.h != cur.h || from.w != cur.w || from.c != cur.c)
        throw model_error(r.where() + ": shortcut between layers of different shapes is not supported");
      if (g) {
        act ac = activation_of(r, "linear");
        int v = g->nodes[g->add_node(op::add, ac == act::none ? name : name + "/sum", {cur.value, from.value}, {}, 1,
                                     "shortcut")]
                  .out[0];
        if (ac != act::none) {
          a.activation = ac;
          v = g->nodes[g->add_node(op::activation, name, {v}, a, 1, "activation")].out[0];
        }
        next.value = v;
      }
    } else if (t == "region" || t == "yolo") {
      yolo_layer_info y;
      y.version = t == "region" ? 2 : 3;
      y.classes = r.i("classes", 20);
      auto anchors = r.floats("anchors");
      int num = r.i("num", 1);
      if (y.version == 3) {
        auto mask = r.floats("mask");
        if (mask.empty())
          for (int m = 0; m < num; ++m) mask.push_back(static_cast<float>(m));
        for (float m : mask) {
          // Checked as a float first: casting a huge, negative or NaN value is
          // undefined (found by fuzz_model), and a fraction names no anchor.
          if (!(m >= 0.0f) || m != std::floor(m) || 2.0 * m + 1 >= static_cast<double>(anchors.size()))
            throw model_error(r.where() + ": mask beyond anchors or not an anchor index");
          auto mi = static_cast<size_t>(m);
          y.anchors.push_back(anchors[2 * mi]);
          y.anchors.push_back(anchors[2 * mi + 1]);
        }
      } else {
        y.anchors = anchors;
        if (r.i("coords", 4) != 4) throw model_error(r.where() + ": coords must be 4");
      }
      int count = static_cast<int>(y.anchors.size() / 2);
      if (count * (5 + y.classes) != cur.c)
        throw model_error(r.where() + ": " + std::to_string(cur.c) + " input channels do not hold "
                          + std::to_string(count) + " anchors of " + std::to_string(5 + y.classes));
      y.output = name;
      info.heads.push_back(y);
      if (g) {
        a.anchors = count;
        a.classes = y.classes;
        a.softmax_classes = y.version == 2 && r.i("softmax", 0) != 0;
        next.value = g->nodes[g->add_node(op::yolo_head, name, {cur.value}, a, 1, t)].out[0];
        g->outputs.push_back(next.value);
      }
    } else if (t == "dropout") {
      if (g) next.value = g->nodes[g->add_node(op::identity, name, {cur.value}, a, 1, t)].out[0];
    } else {
      throw model_error(r.where() + ": layer type [" + t + "] is not supported");
    }
    if (next.h <= 0 || next.w <= 0) throw model_error(r.where() + ": output size is not positive");
    layers.push_back(next);
    cur = next;
  }
  if (g && g->outputs.empty()) g->outputs.push_back(cur.value);
  return info;
}

} // namespace

graph import_darknet(const std::string& cfg, const std::string& weights, darknet_model_info* info) {
  if (weights.empty()) throw model_error(cfg + ": a Darknet model needs its .weights file");
  auto wf = open_weights(weights);
  graph g;
  auto i = walk(cfg, &g, &wf);
  // Darknet itself ignores what follows the last layer, but left-over bytes
  // mean the file was written for another cfg.
  if (wf.off < wf.bytes.size())
    throw model_error("darknet weights " + weights + " do not match " + cfg + ": its layers use "
                      + std::to_string(wf.off) + " bytes, " + std::to_string(wf.bytes.size() - wf.off)
                      + " bytes are left over");
  if (info) *info = i;
  return g;
}

darknet_model_info read_darknet_info(const std::string& cfg) { return walk(cfg, nullptr, nullptr); }

} // namespace weaver::engine
