#include "accel/engine/int8_plan.hpp"

#include <algorithm>

#include "accel/engine/int8_model.hpp"

namespace weaver::engine {

int8_plan plan_codes(const graph& g, const int8_table& t) {
  int8_plan p;
  p.values.resize(g.values.size());
  p.nodes.assign(g.nodes.size(), 0);
  auto table = [&](int v) -> const quant::act_scale* {
    auto it = t.acts.find(g.values[static_cast<size_t>(v)].name);
    return it == t.acts.end() ? nullptr : &it->second;
  };
  auto four = [&](int v) { return g.values[static_cast<size_t>(v)].shape.size() == 4; };
  const int in = g.inputs.at(0);
  const auto* a_in = table(in);
  if (!a_in)
    throw model_error("int8: the int8 table has no scale for the input '" + g.values[static_cast<size_t>(in)].name
                      + "'");
  p.values[static_cast<size_t>(in)] = {four(in), a_in->scale, !a_in->is_unsigned};
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const node& n = g.nodes[k];
    // Every input in codes; constants only as a conv's weights and bias.
    bool inputs = true;
    for (size_t i = 0; i < n.in.size(); ++i) {
      const int v = n.in[i];
      if (g.values[static_cast<size_t>(v)].is_const)
        inputs = inputs && n.kind == op::conv2d && i > 0;
      else
        inputs = inputs && p.values[static_cast<size_t>(v)].in_codes;
    }
    const int o = n.out[0];
    if (!inputs || n.out.size() != 1 || !four(o) || !four(n.in[0])) continue;
    const code_type& x = p.values[static_cast<size_t>(n.in[0])];
    const auto* a = table(o);
    code_type r{true, x.scale, x.is_signed};
    switch (n.kind) {
      case op::conv2d:
        if (n.a.activation != act::none && n.a.activation != act::relu && n.a.activation != act::leaky) continue;
        if (!a || !t.convs.count(n.name)) throw model_error("int8: no int8 numbers for conv '" + n.name + "'");
        break;
      case op::max_pool:
        a = nullptr; // the input's codes, unchanged
        break;
      case op::resize_bilinear:
        break;
      case op::add: {
        if (g.values[static_cast<size_t>(n.in[0])].shape != g.values[static_cast<size_t>(n.in[1])].shape) continue;
        const code_type& y = p.values[static_cast<size_t>(n.in[1])];
        r.scale = x.scale + y.scale;
        r.is_signed = x.is_signed || y.is_signed;
        break;
      }
      case op::concat:
        if (n.a.axis != 3) continue;
        for (int v : n.in) {
          r.scale = std::max(r.scale, p.values[static_cast<size_t>(v)].scale);
          r.is_signed = r.is_signed || p.values[static_cast<size_t>(v)].is_signed;
        }
        break;
      default:
        continue;
    }
    if (a) r = {true, a->scale, !a->is_unsigned};
    p.values[static_cast<size_t>(o)] = r;
    p.nodes[k] = 1;
  }
  return p;
}

} // namespace weaver::engine
