#include "accel/engine/tfjs_import.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/base64.hpp"

namespace weaver::engine {

using json = nlohmann::json;

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

// TF.js writes string attributes as base64 (with padding); a damaged one is
// the file's fault, named like every other.
std::string text_attr(const json& j, const std::string& node, const char* key) {
  auto b = bytes_from_base64(j.get<std::string>());
  if (!b) throw model_error("node '" + node + "': attribute " + key + " is not base64");
  return *b;
}

int64_t as_int(const json& j) {
  if (!j.is_string()) return j.get<int64_t>();
  // TF.js writes int64 attributes as decimal strings; anything else in one
  // is the file's fault (found by fuzz_model: std::stoll's error escaped).
  const auto text = j.get<std::string>();
  try {
    size_t used = 0;
    auto v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {}
  throw model_error("expected an integer, got '" + text.substr(0, 40) + "'");
}

shape_t dims_of(const json& shape) {
  shape_t s;
  if (shape.contains("dim"))
    for (const auto& d : shape["dim"]) s.push_back(d.contains("size") ? as_int(d["size"]) : 1);
  return s;
}

/// Decodes every weight in the manifest into constants by name.
std::map<std::string, tensor_data> load_weights(const json& manifest, const std::string& dir) {
  std::map<std::string, tensor_data> out;
  for (const auto& group : manifest) {
    std::string bytes;
    for (const auto& p : group.at("paths")) bytes += read_model_file(dir + p.get<std::string>(), "weights");
    size_t off = 0;
    for (const auto& w : group.at("weights")) {
      tensor_data t;
      std::string name = w.at("name");
      for (const auto& d : w.at("shape")) t.shape.push_back(d.get<int64_t>());
      for (auto d : t.shape)
        if (d < 0) throw model_error("weight '" + name + "': negative dimension");
      int64_t n = numel(t.shape);
      std::string type = w.at("dtype");
      std::string qtype;
      double scale = 1, min = 0;
      if (w.contains("quantization")) {
        const auto& q = w["quantization"];
        qtype = q.at("dtype");
        if (q.contains("scale")) scale = q["scale"].get<double>();
        if (q.contains("min")) min = q["min"].get<double>();
      }
      size_t width;
      if (!qtype.empty())
        width = qtype == "float16" || qtype == "uint16" ? 2 : qtype == "uint8" ? 1 : 0;
      else
        width = type == "float32" || type == "int32" ? 4 : type == "bool" ? 1 : 0;
      if (width == 0)
        throw model_error("weight '" + name + "': unsupported dtype " + type
                          + (qtype.empty() ? "" : " quantised as " + qtype));
      size_t need = static_cast<size_t>(n) * width;
      if (off + need > bytes.size())
        throw model_error("weights truncated: '" + name + "' needs " + std::to_string(need) + " bytes at offset "
                          + std::to_string(off) + ", shards hold " + std::to_string(bytes.size()));
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + off);
      auto u16 = [&](int64_t k) { return static_cast<uint16_t>(p[2 * k] | (p[2 * k + 1] << 8)); };
      bool integer = type == "int32" || type == "bool";
      t.type = integer ? dtype::i64 : dtype::f32;
      (integer ? t.i.resize(n) : t.f.resize(n));
      for (int64_t k = 0; k < n; ++k) {
        double v;
        if (qtype == "float16")
          v = half_to_float(u16(k));
        else if (qtype == "uint16")
          v = u16(k) * scale + min;
        else if (qtype == "uint8")
          v = p[k] * scale + min;
        else if (type == "bool")
          v = p[k];
        else if (type == "int32") {
          int32_t x;
          std::memcpy(&x, p + 4 * k, 4);
          v = x;
        } else {
          float x;
          std::memcpy(&x, p + 4 * k, 4);
          v = x;
        }
        if (integer)
          t.i[k] = static_cast<int64_t>(std::llround(v));
        else
          t.f[k] = static_cast<float>(v);
      }
      off += need;
      out[name] = std::move(t);
    }
  }
  return out;
}

struct attr_reader {
  const json& node;
  std::string name;
  const json* get(const char* key) const {
    if (!node.contains("attr") || !node["attr"].contains(key)) return nullptr;
    return &node["attr"][key];
  }
  std::string str(const char* key, std::string dflt = {}) const {
    auto a = get(key);
    return a && a->contains("s") ? text_attr((*a)["s"], name, key) : dflt;
  }
  std::vector<int64_t> ints(const char* key) const {
    std::vector<int64_t> r;
    auto a = get(key);
    if (a && a->contains("list") && (*a)["list"].contains("i"))
      for (const auto& x : (*a)["list"]["i"]) r.push_back(as_int(x));
    return r;
  }
  float f(const char* key, float dflt) const {
    auto a = get(key);
    return a && a->contains("f") ? (*a)["f"].get<float>() : dflt;
  }
  bool b(const char* key, bool dflt = false) const {
    auto a = get(key);
    return a && a->contains("b") ? (*a)["b"].get<bool>() : dflt;
  }
  int64_t i(const char* key, int64_t dflt) const {
    auto a = get(key);
    return a && a->contains("i") ? as_int((*a)["i"]) : dflt;
  }
  std::vector<std::string> strs(const char* key) const {
    std::vector<std::string> r;
    auto a = get(key);
    if (a && a->contains("list") && (*a)["list"].contains("s"))
      for (const auto& x : (*a)["list"]["s"]) r.push_back(text_attr(x, name, key));
    return r;
  }
};

/// Conv/pool geometry shared by Conv2D, DepthwiseConv2dNative and MaxPool.
void spatial(const attr_reader& r, attrs& a, const std::string& op) {
  auto fmt = r.str("data_format", "NHWC");
  if (fmt != "NHWC")
    throw model_error("node '" + r.name + "' (" + op + "): data_format " + fmt + " is not supported (NHWC only)");
  auto s = r.ints("strides");
  if (s.size() == 4) a.stride = {static_cast<int>(s[1]), static_cast<int>(s[2])};
  auto d = r.ints("dilations");
  if (d.size() == 4) a.dilation = {static_cast<int>(d[1]), static_cast<int>(d[2])};
  auto k = r.ints("ksize");
  if (k.size() == 4) a.kernel = {static_cast<int>(k[1]), static_cast<int>(k[2])};
  auto pad = r.str("padding", "VALID");
  if (pad == "SAME")
    a.same_padding = true;
  else if (pad == "EXPLICIT") {
    auto e = r.ints("explicit_paddings"); // [n0,n1,h0,h1,w0,w1,c0,c1]
    if (e.size() == 8)
      a.pads = {static_cast<int>(e[2]), static_cast<int>(e[4]), static_cast<int>(e[3]), static_cast<int>(e[5])};
  } else if (pad != "VALID") {
    throw model_error("node '" + r.name + "' (" + op + "): padding " + pad + " is not supported");
  }
}

} // namespace

namespace {
graph import_tfjs_json(const std::string& model_json);
}

graph import_tfjs(const std::string& model_json) {
  // A field of the wrong type or missing where the format requires it is a
  // bad model, not a JSON library error (found by fuzz_model).
  try {
    return import_tfjs_json(model_json);
  } catch (const json::exception& e) {
    throw model_error(model_json + ": not a valid TensorFlow.js graph model: " + e.what());
  }
}

namespace {

graph import_tfjs_json(const std::string& model_json) {
  json m;
  try {
    m = json::parse(read_model_file(model_json, "model"));
  } catch (const json::exception& e) {
    throw model_error(model_json + ": not JSON: " + e.what());
  }
  if (!m.contains("modelTopology") || !m["modelTopology"].contains("node"))
    throw model_error(model_json + ": not a TensorFlow.js graph model (no modelTopology.node)");
  auto weights = load_weights(m.value("weightsManifest", json::array()), dir_of(model_json));

  graph g;
  g.format = "tfjs";
  std::map<std::string, const json*> by_name;
  for (const auto& n : m["modelTopology"]["node"]) by_name[n.at("name").get<std::string>()] = &n;

  // Value names: "node" is output 0, "node:k" output k.
  std::map<std::string, int> produced;
  std::function<int(const std::string&)> resolve;
  std::map<std::string, int> state; // cycle detection

  auto build = [&](const json& n) {
    attr_reader r{n, n.at("name").get<std::string>()};
    std::string opn = n.at("op");
    std::vector<int> in;
    if (n.contains("input"))
      for (const auto& x : n["input"]) {
        std::string s = x;
        if (!s.empty() && s[0] == '^') continue; // control dependency
        in.push_back(resolve(s));
      }
    auto need = [&](size_t k) {
      if (in.size() < k)
        throw model_error("node '" + r.name + "' (" + opn + "): expects " + std::to_string(k) + " inputs, has "
                          + std::to_string(in.size()));
    };
    auto const_ints = [&](int v) -> std::vector<int64_t> {
      const auto& val = g.values[v];
      if (!val.is_const || val.type != dtype::i64)
        throw model_error("node '" + r.name + "' (" + opn + "): input '" + val.name + "' must be an integer constant");
      return val.data.i;
    };
    attrs a;
    auto node1 = [&](op k, std::vector<int> ins, attrs at, int outs = 1) {
      int id = g.add_node(k, r.name, std::move(ins), std::move(at), outs, opn);
      for (int o = 0; o < outs; ++o) produced[o == 0 ? r.name : r.name + ":" + std::to_string(o)] = g.nodes[id].out[o];
    };
    if (opn == "Placeholder") {
      value v;
      v.name = r.name;
      auto s = r.get("shape");
      if (s && s->contains("shape")) v.shape = dims_of((*s)["shape"]);
      for (auto& d : v.shape)
        if (d < 0) d = 1; // unknown batch or size: 1 until the caller sets it
      produced[r.name] = g.add_value(std::move(v));
      g.inputs.push_back(produced[r.name]);
    } else if (opn == "Const") {
      auto w = weights.find(r.name);
      if (w == weights.end()) throw model_error("node '" + r.name + "' (Const): no data in the weights manifest");
      produced[r.name] = g.add_const(r.name, std::move(w->second));
    } else if (opn == "Conv2D" || opn == "DepthwiseConv2dNative" || opn == "_FusedConv2D"
               || opn == "FusedDepthwiseConv2dNative") {
      need(2);
      spatial(r, a, opn);
      if (opn.find("Depthwise") != std::string::npos) {
        // [kh,kw,cin,mult] -> HWIO with one input channel per group.
        auto& w = g.values[in[1]];
        if (!w.is_const || w.shape.size() != 4)
          throw model_error("node '" + r.name + "': depthwise filter must be a 4-D constant");
        a.groups = static_cast<int>(w.shape[2]);
        tensor_data d = w.data;
        d.shape = {w.shape[0], w.shape[1], 1, w.shape[2] * w.shape[3]};
        in[1] = g.add_const(w.name + "/hwio", std::move(d));
      }
      std::vector<int> ins{in[0], in[1]};
      auto fused = r.strs("fused_ops");
      for (const auto& f : fused) {
        if (f == "BiasAdd") {
          need(3);
          ins.push_back(in[2]);
        } else if (f == "Relu")
          a.activation = act::relu;
        else if (f == "LeakyRelu") {
          a.activation = act::leaky;
          a.alpha = r.f("leakyrelu_alpha", 0.2f);
        } else if (f == "Sigmoid")
          a.activation = act::sigmoid;
        else
          throw model_error("node '" + r.name + "' (" + opn + "): fused op " + f + " is not supported");
      }
      node1(op::conv2d, ins, a);
    } else if (opn == "Add" || opn == "AddV2" || opn == "BiasAdd") {
      need(2);
      node1(op::add, {in[0], in[1]}, a);
    } else if (opn == "Sub") {
      need(2);
      node1(op::sub, {in[0], in[1]}, a);
    } else if (opn == "Mul") {
      need(2);
      node1(op::mul, {in[0], in[1]}, a);
    } else if (opn == "Relu" || opn == "LeakyRelu" || opn == "Sigmoid" || opn == "Exp") {
      need(1);
      a.activation = opn == "Relu" ? act::relu
        : opn == "LeakyRelu"       ? act::leaky
        : opn == "Sigmoid"         ? act::sigmoid
                                   : act::exp;
      a.alpha = r.f("alpha", 0.2f); // TF's LeakyRelu default
      node1(op::activation, {in[0]}, a);
    } else if (opn == "Pad" || opn == "PadV2") {
      need(2);
      a.ints = const_ints(in[1]);
      if (opn == "PadV2") {
        need(3);
        const auto& cv = g.values[in[2]];
        if (!cv.is_const || numel(cv.shape) != 1)
          throw model_error("node '" + r.name + "' (PadV2): constant_values must be a scalar constant");
        a.pad_value = cv.type == dtype::f32 ? cv.data.f[0] : static_cast<float>(cv.data.i[0]);
      }
      node1(op::pad, {in[0]}, a);
    } else if (opn == "MaxPool") {
      need(1);
      spatial(r, a, opn);
      node1(op::max_pool, {in[0]}, a);
    } else if (opn == "Transpose") {
      need(2);
      a.ints = const_ints(in[1]);
      node1(op::transpose, {in[0]}, a);
    } else if (opn == "ConcatV2") {
      need(2);
      auto ax = const_ints(in.back());
      a.axis = static_cast<int>(ax.at(0));
      in.pop_back();
      node1(op::concat, in, a);
    } else if (opn == "SplitV") {
      need(3);
      a.ints = const_ints(in[1]);
      a.axis = static_cast<int>(const_ints(in[2]).at(0));
      node1(op::split, {in[0]}, a, static_cast<int>(a.ints.size()));
    } else if (opn == "Split") {
      need(2);
      a.axis = static_cast<int>(const_ints(in[0]).at(0));
      int k = static_cast<int>(r.i("num_split", 1));
      a.ints.assign(static_cast<size_t>(k), -1); // equal parts, set by shape inference
      node1(op::split, {in[1]}, a, k);
    } else if (opn == "Reshape") {
      need(2);
      node1(op::reshape, {in[0], in[1]}, a); // the shape may need constant folding first
    } else if (opn == "ResizeBilinear") {
      need(2);
      a.ints = const_ints(in[1]);
      a.half_pixel = r.b("half_pixel_centers");
      a.align_corners = r.b("align_corners");
      node1(op::resize_bilinear, {in[0]}, a);
    } else if (opn == "Identity" || opn == "StopGradient") {
      need(1);
      node1(op::identity, {in[0]}, a);
    } else if (opn == "SparseToDense") {
      need(4);
      node1(op::sparse_to_dense, in, a);
    } else if (opn == "Softmax") {
      need(1);
      node1(op::softmax, {in[0]}, a);
    } else {
      throw model_error("unsupported op '" + opn + "' at node '" + r.name + "'");
    }
  };

  resolve = [&](const std::string& ref) -> int {
    auto hit = produced.find(ref);
    if (hit != produced.end()) return hit->second;
    std::string base = ref, port;
    auto colon = ref.find(':');
    if (colon != std::string::npos) {
      base = ref.substr(0, colon);
      port = ref.substr(colon + 1);
    }
    auto it = by_name.find(base);
    if (it == by_name.end()) throw model_error("input '" + ref + "' names no node");
    if (state[base] == 1) throw model_error("cycle through node '" + base + "'");
    if (state[base] == 0) {
      state[base] = 1;
      build(*it->second);
      state[base] = 2;
    }
    // "name:0" is the same value as "name".
    hit = produced.find(port == "0" ? base : ref);
    if (hit == produced.end()) throw model_error("input '" + ref + "' names no output");
    return hit->second;
  };

  // Outputs: the signature's order when present, else every unconsumed node.
  std::vector<std::string> outs;
  if (m.contains("signature") && m["signature"].contains("outputs")) {
    for (const auto& [key, o] : m["signature"]["outputs"].items()) {
      std::string nm = o.value("name", key);
      if (nm.size() > 2 && nm.compare(nm.size() - 2, 2, ":0") == 0) nm.resize(nm.size() - 2);
      outs.push_back(nm);
    }
  } else {
    std::map<std::string, int> used;
    for (const auto& n : m["modelTopology"]["node"])
      if (n.contains("input"))
        for (const auto& x : n["input"]) {
          std::string s = x;
          used[s.substr(0, s.find(':'))] = 1;
        }
    for (const auto& n : m["modelTopology"]["node"]) {
      // A node that is not an object with a string name is the file's fault
      // (found by fuzz_model: a const json's operator[] read out of bounds).
      if (!n.is_object() || !n.contains("name") || !n["name"].is_string())
        throw model_error("modelTopology.node: every node needs a string \"name\"");
      if (!used.count(n["name"]) && n.value("op", std::string{}) != "Const") outs.push_back(n["name"]);
    }
  }
  for (const auto& o : outs) {
    int v = resolve(o);
    g.values[v].name = o;
    g.outputs.push_back(v);
  }
  if (g.inputs.empty()) throw model_error(model_json + ": the graph has no Placeholder input");
  return g;
}

} // namespace

} // namespace weaver::engine
