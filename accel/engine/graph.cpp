#include "accel/engine/graph.hpp"

#include <fstream>
#include <sstream>

namespace weaver::engine {

std::string read_model_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_error(what + ": cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
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
  }
  return "?";
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
