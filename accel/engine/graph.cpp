#include "accel/engine/graph.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace weaver::engine {

std::string read_model_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_error(what + ": cannot open " + path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) { // a pipe or a device: no size to read by
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // A file straight into a string of its size: a stringstream grew, then
  // copied, a third of yolov2-tiny's (45 MB) import time.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0);
  std::string bytes;
  if (size > 0) {
    bytes.resize(static_cast<size_t>(size));
    in.read(bytes.data(), size);
    bytes.resize(static_cast<size_t>(in.gcount()));
  }
  if (size < 0 || in.bad()) throw model_error(what + ": cannot read " + path);
  return bytes;
}

std::string dir_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

int64_t numel(const shape_t& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::vector<int64_t> strides_of(const shape_t& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

std::string to_string(const shape_t& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ",";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

const char* op_name(op k) {
  switch (k) {
    case op::conv2d:
      return "conv2d";
    case op::add:
      return "add";
    case op::sub:
      return "sub";
    case op::mul:
      return "mul";
    case op::activation:
      return "activation";
    case op::pad:
      return "pad";
    case op::max_pool:
      return "max_pool";
    case op::transpose:
      return "transpose";
    case op::concat:
      return "concat";
    case op::split:
      return "split";
    case op::reshape:
      return "reshape";
    case op::resize_bilinear:
      return "resize_bilinear";
    case op::upsample:
      return "upsample";
    case op::reorg:
      return "reorg";
    case op::yolo_head:
      return "yolo_head";
    case op::identity:
      return "identity";
    case op::sparse_to_dense:
      return "sparse_to_dense";
    case op::softmax:
      return "softmax";
    case op::div:
      return "div";
    case op::avg_pool:
      return "avg_pool";
    case op::global_avg_pool:
      return "global_avg_pool";
    case op::slice:
      return "slice";
    case op::shape_fn:
      return "shape_fn";
    case op::pow:
      return "pow";
  }
  return "?";
}

const char* act_name(act a) {
  switch (a) {
    case act::none:
      return "none";
    case act::relu:
      return "relu";
    case act::leaky:
      return "leaky";
    case act::sigmoid:
      return "sigmoid";
    case act::exp:
      return "exp";
    case act::clip:
      return "clip";
    case act::hard_sigmoid:
      return "hard_sigmoid";
    case act::hard_swish:
      return "hard_swish";
    case act::sqrt:
      return "sqrt";
    case act::silu:
      return "silu";
  }
  return "?";
}

void slice_geometry(const std::vector<int64_t>& spec, const shape_t& in, std::vector<int64_t>& starts,
                    std::vector<int64_t>& steps, shape_t& out) {
  const int64_t r = static_cast<int64_t>(in.size());
  starts.assign(in.size(), 0);
  steps.assign(in.size(), 1);
  out = in;
  if (spec.size() % 4) throw model_error("slice: the spec is not (axis, start, end, step) groups");
  std::vector<bool> seen(in.size(), false);
  for (size_t k = 0; k < spec.size(); k += 4) {
    int64_t axis = spec[k], start = spec[k + 1], end = spec[k + 2], step = spec[k + 3];
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r || seen[static_cast<size_t>(axis)])
      throw model_error("slice: axis " + std::to_string(spec[k]) + " out of range or repeated for rank "
                        + std::to_string(r));
    seen[static_cast<size_t>(axis)] = true;
    if (step == 0) throw model_error("slice: step 0");
    const int64_t dim = in[static_cast<size_t>(axis)];
    // Before adding dim: INT64_MAX / INT64_MIN ends ("to the end") must not overflow.
    if (start < 0) start = start < -dim ? 0 : start + dim;
    if (end < 0) end = end < -dim ? -1 : end + dim;
    int64_t count = 0;
    if (step > 0) {
      start = std::min(std::max<int64_t>(start, 0), dim);
      end = std::min(std::max<int64_t>(end, 0), dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::min(std::max<int64_t>(start, 0), dim - 1);
      end = std::min(std::max<int64_t>(end, -1), dim - 1);
      count = start > end ? (start - end - step - 1) / -step : 0;
    }
    starts[static_cast<size_t>(axis)] = start;
    steps[static_cast<size_t>(axis)] = step;
    out[static_cast<size_t>(axis)] = count;
  }
}

tensor_data slice_constant(const tensor_data& t, const std::vector<int64_t>& spec) {
  std::vector<int64_t> starts, steps;
  tensor_data o;
  o.type = t.type;
  slice_geometry(spec, t.shape, starts, steps, o.shape);
  const auto st = strides_of(t.shape);
  const int64_t cnt = numel(o.shape);
  std::vector<int64_t> idx(o.shape.size(), 0);
  for (int64_t k = 0; k < cnt; ++k) {
    int64_t src = 0;
    for (size_t j = 0; j < idx.size(); ++j) src += (starts[j] + idx[j] * steps[j]) * st[j];
    if (t.type == dtype::f32)
      o.f.push_back(t.f[static_cast<size_t>(src)]);
    else
      o.i.push_back(t.i[static_cast<size_t>(src)]);
    for (int j = static_cast<int>(idx.size()) - 1; j >= 0; --j) {
      if (++idx[static_cast<size_t>(j)] < o.shape[static_cast<size_t>(j)]) break;
      idx[static_cast<size_t>(j)] = 0;
    }
  }
  return o;
}

tensor_data eval_shape_op(const std::string& t, const tensor_data& x, const tensor_data* indices, const attrs& a) {
  tensor_data d = x;
  const int64_t r = static_cast<int64_t>(d.shape.size());
  if (t == "Shape") {
    int64_t start = a.ints.size() == 2 ? a.ints[0] : 0, end = a.ints.size() == 2 ? a.ints[1] : r;
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = std::clamp<int64_t>(start, 0, r);
    end = std::clamp<int64_t>(end, start, r);
    tensor_data s;
    s.type = dtype::i64;
    s.i.assign(d.shape.begin() + start, d.shape.begin() + end);
    s.shape = {end - start};
    return s;
  }
  if (t == "Cast") {
    const int to = a.axis; // TensorProto.DataType
    if (to == 1 || to == 10 || to == 11) { // float, float16, double
      if (d.type == dtype::i64) d.f.assign(d.i.begin(), d.i.end()), d.i.clear();
      d.type = dtype::f32;
    } else if (to == 6 || to == 7) { // int32, int64
      if (d.type == dtype::f32) {
        // Truncation toward zero, as ONNX casts; a value with no int64 (NaN,
        // infinite, beyond ±2^63) is undefined there, refused here.
        for (float v : d.f) {
          if (!(std::fabs(v) < 9.2e18f)) throw model_error("cast of " + std::to_string(v) + " to an integer");
          d.i.push_back(static_cast<int64_t>(v));
        }
        d.f.clear();
      }
      d.type = dtype::i64;
    } else {
      throw model_error("cast to type " + std::to_string(to) + " is not supported");
    }
    return d;
  }
  if (t == "Unsqueeze") {
    const int64_t out_r = r + static_cast<int64_t>(a.ints.size());
    std::vector<bool> one(static_cast<size_t>(out_r), false);
    for (auto q : a.ints) {
      if (q < 0) q += out_r;
      if (q < 0 || q >= out_r || one[static_cast<size_t>(q)]) throw model_error("bad axes");
      one[static_cast<size_t>(q)] = true;
    }
    shape_t s;
    size_t k = 0;
    for (int64_t q = 0; q < out_r; ++q) s.push_back(one[static_cast<size_t>(q)] ? 1 : d.shape[k++]);
    d.shape = s;
    return d;
  }
  if (t == "Squeeze") {
    shape_t s;
    for (int64_t q = 0; q < r; ++q) {
      bool drop = a.ints.empty() && d.shape[static_cast<size_t>(q)] == 1;
      for (auto z : a.ints) drop = drop || (z < 0 ? z + r : z) == q;
      if (drop && d.shape[static_cast<size_t>(q)] != 1)
        throw model_error("squeezes an axis of size " + std::to_string(d.shape[static_cast<size_t>(q)]));
      if (!drop) s.push_back(d.shape[static_cast<size_t>(q)]);
    }
    d.shape = s;
    return d;
  }
  if (t == "Floor" || t == "Ceil") { // output sizes computed in floats (scale x size): integers are left as they are
    for (auto& v : d.f) v = t == "Floor" ? std::floor(v) : std::ceil(v);
    return d;
  }
  if (t != "Gather") throw model_error("no shape arithmetic for " + t);
  if (!indices || indices->type != dtype::i64) throw model_error("indices must be integers");
  int64_t axis = a.axis;
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) throw model_error("axis out of range");
  int64_t outer = 1, inner = 1, dim = d.shape[static_cast<size_t>(axis)];
  for (int64_t q = 0; q < axis; ++q) outer *= d.shape[static_cast<size_t>(q)];
  for (int64_t q = axis + 1; q < r; ++q) inner *= d.shape[static_cast<size_t>(q)];
  tensor_data o;
  o.type = d.type;
  o.shape.assign(d.shape.begin(), d.shape.begin() + axis);
  o.shape.insert(o.shape.end(), indices->shape.begin(), indices->shape.end());
  o.shape.insert(o.shape.end(), d.shape.begin() + axis + 1, d.shape.end());
  for (int64_t p = 0; p < outer; ++p)
    for (auto j : indices->i) {
      if (j < 0) j += dim;
      if (j < 0 || j >= dim) throw model_error("index out of range");
      for (int64_t q = 0; q < inner; ++q) {
        size_t src = static_cast<size_t>((p * dim + j) * inner + q);
        if (d.type == dtype::f32)
          o.f.push_back(d.f[src]);
        else
          o.i.push_back(d.i[src]);
      }
    }
  return o;
}

void set_resize_target(op kind, const tensor_data& d, bool is_scales, attrs& a) {
  if (is_scales ? d.type != dtype::f32 : d.type != dtype::i64)
    throw model_error(is_scales ? "scales must be floats" : "sizes must be integers");
  const size_t n = is_scales ? d.f.size() : d.i.size();
  if (n != 4 || (is_scales && (d.f[0] != 1 || d.f[1] != 1)))
    throw model_error("only resizes of H and W of a 4-D NCHW tensor are supported");
  if (!is_scales && (d.i[0] < 1 || d.i[1] < 1 || d.i[2] < 1 || d.i[3] < 1)) throw model_error("sizes must be positive");
  if (kind == op::upsample) {
    if (!is_scales) {
      a.ints = {d.i[2], d.i[3]}; // integer factors of the input's size, found by infer_shapes
      return;
    }
    for (int k = 0; k < 2; ++k) {
      float s = d.f[2 + static_cast<size_t>(k)];
      // Bounded before the cast: 2.2e20 does not fit an int (found by
      // fuzz_onnx; detectors upsample by 2).
      if (!(s >= 1 && s <= 1024) || s != std::floor(s))
        throw model_error("nearest needs integer scale factors from 1 to 1024");
      a.stride[k] = static_cast<int>(s);
    }
  } else if (is_scales) {
    if (!(d.f[2] > 0 && d.f[3] > 0 && d.f[2] <= 1024 && d.f[3] <= 1024))
      throw model_error("linear needs scale factors above 0 and up to 1024");
    a.scale = {d.f[2], d.f[3]};
  } else {
    a.ints = {d.i[2], d.i[3]};
  }
}

tensor_data concat_constants(const std::vector<const tensor_data*>& in, int64_t axis) {
  if (in.empty()) throw model_error("nothing to concatenate");
  const auto& first = *in[0];
  const int64_t r = static_cast<int64_t>(first.shape.size());
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) throw model_error("axis out of range");
  tensor_data o;
  o.type = first.type;
  o.shape = first.shape;
  o.shape[static_cast<size_t>(axis)] = 0;
  for (const auto* d : in) {
    bool fits = d->type == first.type && d->shape.size() == first.shape.size();
    for (int64_t q = 0; fits && q < r; ++q)
      fits = q == axis || d->shape[static_cast<size_t>(q)] == first.shape[static_cast<size_t>(q)];
    if (!fits)
      throw model_error("inputs " + to_string(first.shape) + " and " + to_string(d->shape) + " do not concatenate");
    o.shape[static_cast<size_t>(axis)] += d->shape[static_cast<size_t>(axis)];
  }
  int64_t outer = 1;
  for (int64_t q = 0; q < axis; ++q) outer *= first.shape[static_cast<size_t>(q)];
  for (int64_t p = 0; p < outer; ++p)
    for (const auto* d : in) {
      int64_t chunk = numel(d->shape) / std::max<int64_t>(outer, 1);
      if (d->type == dtype::f32)
        o.f.insert(o.f.end(), d->f.begin() + p * chunk, d->f.begin() + (p + 1) * chunk);
      else
        o.i.insert(o.i.end(), d->i.begin() + p * chunk, d->i.begin() + (p + 1) * chunk);
    }
  return o;
}

shape_t value::storage_shape() const {
  if (order.empty()) return shape;
  shape_t s(order.size());
  for (size_t i = 0; i < order.size(); ++i) s[i] = shape[static_cast<size_t>(order[i])];
  return s;
}

int graph::add_value(value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int graph::add_const(std::string name, tensor_data d) {
  value v;
  v.name = std::move(name);
  v.type = d.type;
  v.shape = d.shape;
  v.is_const = true;
  v.data = std::move(d);
  return add_value(std::move(v));
}

int graph::add_node(op kind, std::string name, std::vector<int> in, attrs a, int outputs, std::string source_op) {
  node n;
  n.kind = kind;
  n.name = name;
  n.source_op = std::move(source_op);
  n.in = std::move(in);
  n.a = std::move(a);
  int id = static_cast<int>(nodes.size());
  for (int i = 0; i < outputs; ++i) {
    value v;
    v.name = i == 0 ? name : name + ":" + std::to_string(i);
    v.producer = id;
    n.out.push_back(add_value(std::move(v)));
  }
  nodes.push_back(std::move(n));
  return id;
}

int graph::find(const std::string& value_name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == value_name) return static_cast<int>(i);
  return -1;
}

void graph::prune() {
  std::vector<char> live(nodes.size(), 0);
  std::vector<int> stack;
  for (int o : outputs)
    if (values[o].producer >= 0) stack.push_back(values[o].producer);
  while (!stack.empty()) {
    int n = stack.back();
    stack.pop_back();
    if (live[n]) continue;
    live[n] = 1;
    for (int v : nodes[n].in)
      if (values[v].producer >= 0) stack.push_back(values[v].producer);
  }
  // Passes append replacement nodes at the end, so re-sort topologically.
  std::vector<int> order, state(nodes.size(), 0);
  std::vector<std::pair<int, size_t>> dfs;
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (!live[root] || state[root]) continue;
    dfs.push_back({static_cast<int>(root), 0});
    state[root] = 1;
    while (!dfs.empty()) {
      auto& [n, k] = dfs.back();
      if (k < nodes[n].in.size()) {
        int p = values[nodes[n].in[k++]].producer;
        if (p >= 0 && live[p]) {
          if (state[p] == 1) throw model_error("cycle through node " + nodes[p].name);
          if (state[p] == 0) {
            state[p] = 1;
            dfs.push_back({p, 0});
          }
        }
      } else {
        state[n] = 2;
        order.push_back(n);
        dfs.pop_back();
      }
    }
  }
  std::vector<node> kept;
  std::vector<int> remap(nodes.size(), -1);
  for (int n : order) {
    remap[n] = static_cast<int>(kept.size());
    kept.push_back(std::move(nodes[n]));
  }
  nodes = std::move(kept);
  for (auto& v : values) v.producer = v.producer >= 0 ? remap[v.producer] : -1;
}

std::vector<std::vector<int>> graph::consumers() const {
  std::vector<std::vector<int>> c(values.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].in) c[v].push_back(static_cast<int>(n));
  return c;
}

namespace {

std::string order_text(const value& v) {
  bool ident = true;
  for (size_t i = 0; i < v.order.size(); ++i) ident = ident && v.order[i] == static_cast<int>(i);
  if (v.order.empty() || ident) return "";
  std::string r = " stored(";
  for (size_t i = 0; i < v.order.size(); ++i) r += (i ? "," : "") + std::to_string(v.order[i]);
  return r + ")";
}

std::string ints_text(const std::vector<int64_t>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? "," : "") + std::to_string(v[i]);
  return r;
}

} // namespace

std::string describe(const graph& g) {
  std::ostringstream os;
  int64_t params = 0;
  for (const auto& v : g.values)
    if (v.is_const) params += numel(v.shape);
  os << "format " << g.format << ", " << g.nodes.size() << " nodes, " << params << " constant elements\n";
  for (int i : g.inputs)
    os << "input  " << g.values[i].name << " " << to_string(g.values[i].shape) << order_text(g.values[i]) << "\n";
  int64_t macs = 0;
  for (const auto& n : g.nodes) {
    os << op_name(n.kind) << " " << n.name << " (";
    for (size_t i = 0; i < n.in.size(); ++i) {
      const auto& v = g.values[n.in[i]];
      os << (i ? ", " : "") << (v.is_const ? "const " : "") << to_string(v.shape);
    }
    os << ") ->";
    for (int o : n.out) os << " " << to_string(g.values[o].shape) << order_text(g.values[o]);
    const auto& a = n.a;
    switch (n.kind) {
      case op::conv2d: {
        const auto& w = g.values[n.in[1]].shape;
        os << " k" << a.kernel[0] << "x" << a.kernel[1] << " s" << a.stride[0] << " pad " << a.pads[0] << ","
           << a.pads[1] << "," << a.pads[2] << "," << a.pads[3];
        if (a.groups != 1) os << " groups " << a.groups;
        if (n.in.size() > 2) os << " +bias";
        if (a.activation != act::none) os << " " << act_name(a.activation);
        const auto& out = g.values[n.out[0]].shape;
        if (w.size() == 4 && out.size() == 4) macs += numel(out) * w[0] * w[1] * w[2];
        break;
      }
      case op::activation:
        os << " " << act_name(a.activation);
        break;
      case op::max_pool:
      case op::avg_pool:
        os << " k" << a.kernel[0] << " s" << a.stride[0] << " pad " << a.pads[0] << "," << a.pads[1] << "," << a.pads[2]
           << "," << a.pads[3];
        break;
      case op::transpose:
      case op::pad:
      case op::split:
      case op::reshape:
      case op::resize_bilinear:
      case op::slice:
        os << " [" << ints_text(a.ints) << "]";
        break;
      case op::concat:
        os << " axis " << a.axis;
        break;
      case op::yolo_head:
        os << " anchors " << a.anchors << " classes " << a.classes << (a.softmax_classes ? " softmax" : "");
        break;
      default:
        break;
    }
    os << "  <" << n.source_op << ">\n";
  }
  for (int o : g.outputs)
    os << "output " << g.values[o].name << " " << to_string(g.values[o].shape) << order_text(g.values[o]) << "\n";
  os << "multiply-adds per run: " << macs << "\n";
  return os.str();
}

} // namespace weaver::engine
