#include "accel/engine/int8_model.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/base64.hpp"

namespace weaver::engine {

namespace {

// Weights as base64 (base/base64.hpp); a damaged file is an error naming it.
std::vector<int8_t> weights_from_base64(const std::string& s, const std::string& what) {
  if (s.size() % 4) throw model_error(what + ": base64 length is not a multiple of 4");
  auto w = from_base64(s);
  if (!w) throw model_error(what + ": not base64");
  return *w;
}

} // namespace

int8_table calibrate(const std::shared_ptr<const model>& m, const std::function<bool(float*)>& next) {
  const graph& g = m->ir();
  session s(m);
  std::map<std::string, quant::range_observer> ranges;
  for (const auto& n : g.nodes)
    if (n.kind == op::conv2d) {
      ranges[g.values[static_cast<size_t>(n.in[0])].name];
      ranges[g.values[static_cast<size_t>(n.out[0])].name];
    }
  int runs = 0;
  while (next(s.input())) {
    s.run();
    ++runs;
    for (auto& [name, r] : ranges) {
      shape_t shape;
      const float* x = s.value(name, &shape);
      if (x) r.observe(x, numel(shape));
    }
  }
  if (runs == 0) throw model_error("calibrate: no calibration input");
  int8_table t;
  for (const auto& [name, r] : ranges) t.acts[name] = {r.scale(), r.is_unsigned()};
  for (const auto& n : g.nodes) {
    if (n.kind != op::conv2d) continue;
    const auto& wv = g.values[static_cast<size_t>(n.in[1])];
    if (!wv.is_const) throw model_error("conv '" + n.name + "': int8 needs constant weights");
    auto qw = quant::quantize_weights(wv.data.f.data(), wv.shape);
    int8_conv_params p;
    p.filter = wv.shape;
    p.w = std::move(qw.q);
    p.scale = std::move(qw.scale);
    if (n.in.size() > 2)
      p.bias = quant::quantize_bias(g.values[static_cast<size_t>(n.in[2])].data.f.data(), p.scale,
                                    t.acts.at(g.values[static_cast<size_t>(n.in[0])].name).scale);
    t.convs[n.name] = std::move(p);
  }
  return t;
}

void save_int8(const int8_table& t, const std::string& path) {
  nlohmann::json j;
  j["format"] = "weaver-int8";
  j["version"] = 1;
  j["source"] = t.source;
  j["calibration"] = t.calibration.empty() ? nlohmann::json::object() : nlohmann::json::parse(t.calibration);
  auto& acts = j["activations"] = nlohmann::json::object();
  for (const auto& [name, a] : t.acts) acts[name] = {{"scale", a.scale}, {"unsigned", a.is_unsigned}};
  auto& convs = j["convs"] = nlohmann::json::object();
  for (const auto& [name, c] : t.convs)
    convs[name] = {{"filter", c.filter}, {"scales", c.scale}, {"bias", c.bias}, {"weights", to_base64(c.w)}};
  std::ofstream out(path);
  if (!out) throw model_error(path + ": cannot write");
  out << j.dump() << "\n";
  if (!out) throw model_error(path + ": write failed");
}

int8_table load_int8(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw model_error(path + ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw model_error(path + ": not JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.value("format", "") != "weaver-int8")
    throw model_error(path + ": not a weaver-int8 file (a float model? quantize it with `weaver model quantize`)");
  if (j.value("version", 0) != 1)
    throw model_error(path + ": weaver-int8 version " + j.value("version", nlohmann::json()).dump()
                      + ", this build reads 1");
  int8_table t;
  try {
    t.source = j.value("source", "");
    t.calibration = j.value("calibration", nlohmann::json::object()).dump();
    for (const auto& [name, a] : j.at("activations").items()) {
      quant::act_scale s{a.at("scale").get<float>(), a.at("unsigned").get<bool>()};
      if (!(s.scale > 0.0f)) throw model_error(path + ": activation '" + name + "' has scale <= 0");
      t.acts[name] = s;
    }
    for (const auto& [name, c] : j.at("convs").items()) {
      int8_conv_params p;
      p.filter = c.at("filter").get<shape_t>();
      p.scale = c.at("scales").get<std::vector<float>>();
      p.bias = c.at("bias").get<std::vector<int32_t>>();
      p.w = weights_from_base64(c.at("weights").get<std::string>(), path + ": conv '" + name + "'");
      if (p.filter.size() != 4 || static_cast<int64_t>(p.w.size()) != numel(p.filter)
          || static_cast<int64_t>(p.scale.size()) != p.filter[3]
          || (!p.bias.empty() && static_cast<int64_t>(p.bias.size()) != p.filter[3]))
        throw model_error(path + ": conv '" + name + "': sizes do not match its filter");
      for (float s : p.scale)
        if (!(s > 0.0f)) throw model_error(path + ": conv '" + name + "' has a weight scale <= 0");
      t.convs[name] = std::move(p);
    }
  } catch (const nlohmann::json::exception& e) {
    throw model_error(path + ": " + e.what());
  }
  return t;
}

std::shared_ptr<const model> with_int8(const std::shared_ptr<const model>& m, std::shared_ptr<const int8_table> t,
                                       bool exact) {
  const graph& g = m->ir();
  for (const auto& n : g.nodes) {
    if (n.kind != op::conv2d) continue;
    auto c = t->convs.find(n.name);
    if (c == t->convs.end())
      throw model_error("int8: conv '" + n.name + "' has no int8 weights (quantized from another model?)");
    if (c->second.filter != g.values[static_cast<size_t>(n.in[1])].shape)
      throw model_error("int8: conv '" + n.name + "' filter " + to_string(c->second.filter) + " in the int8 file, "
                        + to_string(g.values[static_cast<size_t>(n.in[1])].shape) + " in the model");
    if (c->second.bias.empty() != (n.in.size() <= 2))
      throw model_error("int8: conv '" + n.name + "' bias does not match the model's");
    for (int v : {n.in[0], n.out[0]})
      if (!t->acts.count(g.values[static_cast<size_t>(v)].name))
        throw model_error("int8: value '" + g.values[static_cast<size_t>(v)].name + "' has no calibrated scale");
  }
  return model::with_table(*m, std::move(t), exact);
}

} // namespace weaver::engine
