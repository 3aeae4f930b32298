#include "accel/engine/onnx_export.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "onnx.pb.h"

namespace weaver::engine {

namespace {

constexpr int t_float = 1, t_int64 = 7; // TensorProto.DataType

class exporter {
public:
  explicit exporter(const graph& g) : g_(g) {}

  onnx::ModelProto run() {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("weaver");
    m.add_opset_import()->set_version(13);
    gp_ = m.mutable_graph();
    gp_->set_name("weaver_" + g_.format);
    for (int in : g_.inputs) value_info(gp_->add_input(), in);
    for (const auto& n : g_.nodes) node(n);
    for (int o : g_.outputs) {
      if (g_.values[o].producer < 0)
        throw model_error("output '" + g_.values[o].name + "' is not computed by a node: nothing to export");
      value_info(gp_->add_output(), o);
    }
    return m;
  }

private:
  const graph& g_;
  onnx::GraphProto* gp_ = nullptr;
  int fresh_ = 0;

  [[noreturn]] static void fail(const node& n, const std::string& why) {
    throw model_error("node '" + n.name + "' (" + op_name(n.kind) + "): " + why);
  }

  /// Unique ONNX names: inputs and outputs keep the engine's, the rest are
  /// numbered (engine names need not be unique across layout copies).
  std::string name(int v) const {
    for (int o : g_.outputs)
      if (o == v && g_.values[v].producer >= 0) return g_.values[v].name;
    for (int i : g_.inputs)
      if (i == v) return g_.values[v].name;
    return "v" + std::to_string(v);
  }
  std::string temp(const node& n, const char* what) { return n.name + "/" + what + "_" + std::to_string(fresh_++); }

  void value_info(onnx::ValueInfoProto* vi, int v) {
    vi->set_name(name(v));
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(t_float);
    for (auto d : g_.values[v].shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }

  onnx::NodeProto* add(const std::string& type, const std::string& nm, std::vector<std::string> in,
                       std::vector<std::string> out) {
    auto* p = gp_->add_node();
    p->set_op_type(type);
    p->set_name(nm);
    for (auto& s : in) p->add_input(s);
    for (auto& s : out) p->add_output(s);
    return p;
  }
  static void set_ints(onnx::NodeProto* p, const char* key, const std::vector<int64_t>& v) {
    auto* a = p->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void set_int(onnx::NodeProto* p, const char* key, int64_t v) {
    auto* a = p->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void set_float(onnx::NodeProto* p, const char* key, float v) {
    auto* a = p->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void set_str(onnx::NodeProto* p, const char* key, const std::string& v) {
    auto* a = p->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }

  std::string init_f32(const std::string& nm, const shape_t& shape, const std::vector<float>& f) {
    auto* t = gp_->add_initializer();
    t->set_name(nm);
    t->set_data_type(t_float);
    for (auto d : shape) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(f.data()), f.size() * sizeof(float)));
    return nm;
  }
  std::string init_i64(const std::string& nm, const std::vector<int64_t>& v) {
    auto* t = gp_->add_initializer();
    t->set_name(nm);
    t->set_data_type(t_int64);
    t->add_dims(static_cast<int64_t>(v.size()));
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int64_t)));
    return nm;
  }
  /// A node input: constants become initializers the first time they are used.
  std::string input(int v) {
    const auto& x = g_.values[v];
    if (!x.is_const) return name(v);
    auto nm = "c" + std::to_string(v);
    for (const auto& t : gp_->initializer())
      if (t.name() == nm) return nm;
    if (x.type == dtype::i64) {
      init_i64(nm, x.data.i);
      gp_->mutable_initializer(gp_->initializer_size() - 1)->clear_dims();
      for (auto d : x.shape) gp_->mutable_initializer(gp_->initializer_size() - 1)->add_dims(d);
      return nm;
    }
    return init_f32(nm, x.shape, x.data.f);
  }

  /// NHWC `x` to NCHW and back around an ONNX image op.
  std::string to_nchw(const node& n, const std::string& x) {
    auto t = temp(n, "nchw");
    set_ints(add("Transpose", t, {x}, {t}), "perm", {0, 3, 1, 2});
    return t;
  }
  void to_nhwc(const node& n, const std::string& x, const std::string& out) {
    set_ints(add("Transpose", n.name + "/nhwc_" + std::to_string(fresh_++), {x}, {out}), "perm", {0, 2, 3, 1});
  }
  /// Appends the activation fused into a conv; returns the result's name.
  std::string activation(const node& n, act a, float alpha, float beta, const std::string& x,
                         const std::string& out = {}) {
    if (a == act::none) return x;
    auto y = out.empty() ? temp(n, "act") : out;
    if (a == act::clip) {
      add("Clip", y, {x, init_scalar(temp(n, "min"), alpha), init_scalar(temp(n, "max"), beta)}, {y});
      return y;
    }
    if (a == act::hard_sigmoid || a == act::hard_swish) {
      // HardSwish is opset 14; the export is 13: x * HardSigmoid(x, 1/6, 1/2).
      auto h = a == act::hard_sigmoid ? y : temp(n, "hsig");
      auto* p = add("HardSigmoid", h, {x}, {h});
      set_float(p, "alpha", a == act::hard_sigmoid ? alpha : 1.0f / 6.0f);
      set_float(p, "beta", a == act::hard_sigmoid ? beta : 0.5f);
      if (a == act::hard_swish) add("Mul", y, {x, h}, {y});
      return y;
    }
    if (a == act::silu) { // no SiLU op in ONNX: the Sigmoid-Mul pair it was fused from
      auto s = temp(n, "sigmoid");
      add("Sigmoid", s, {x}, {s});
      add("Mul", y, {x, s}, {y});
      return y;
    }
    const char* type = a == act::relu ? "Relu"
      : a == act::leaky               ? "LeakyRelu"
      : a == act::sigmoid             ? "Sigmoid"
      : a == act::sqrt                ? "Sqrt"
                                      : "Exp";
    auto* p = add(type, y, {x}, {y});
    if (a == act::leaky) set_float(p, "alpha", alpha);
    return y;
  }
  std::string init_scalar(const std::string& nm, float v) {
    init_f32(nm, {}, {v});
    return nm;
  }

  std::string reshape(const node& n, const std::string& x, const shape_t& shape) {
    auto y = temp(n, "reshape");
    add("Reshape", y, {x, init_i64(temp(n, "shape"), shape)}, {y});
    return y;
  }

  /// Darknet's region/yolo activations per anchor: [N,H,W,A*(5+C)] viewed as
  /// [N,H,W,A,5+C], split into x y | w h | objectness | classes, logistic on
  /// x y and objectness, logistic or a softmax on the classes.
  void yolo_head(const node& n, const std::string& x, const std::string& out) {
    const auto& s = g_.values[n.in[0]].shape;
    const int64_t per = 5 + n.a.classes;
    auto v = reshape(n, x, {s[0], s[1], s[2], n.a.anchors, per});
    std::vector<std::string> parts{temp(n, "xy"), temp(n, "wh"), temp(n, "obj"), temp(n, "cls")};
    set_int(add("Split", temp(n, "split"), {v, init_i64(temp(n, "sizes"), {2, 2, 1, n.a.classes})}, parts), "axis", 4);
    auto xy = temp(n, "sxy"), obj = temp(n, "sobj"), cls = temp(n, "scls");
    add("Sigmoid", xy, {parts[0]}, {xy});
    add("Sigmoid", obj, {parts[2]}, {obj});
    if (n.a.softmax_classes)
      set_int(add("Softmax", cls, {parts[3]}, {cls}), "axis", -1);
    else
      add("Sigmoid", cls, {parts[3]}, {cls});
    auto cat = temp(n, "cat");
    set_int(add("Concat", cat, {xy, parts[1], obj, cls}, {cat}), "axis", 4);
    add("Reshape", n.name, {cat, init_i64(temp(n, "shape"), s)}, {out});
  }

  /// Darknet's reorg (forward), which reads its input as if it were
  /// (c/s^2, h*s, w*s) in flat CHW: output channel (oy*s + ox)*c/s^2 + c2 at
  /// (j, i) is that view's (c2, j*s + oy, i*s + ox). Two reshapes and a 6-D
  /// transpose in CHW order.
  void reorg(const node& n, const std::string& x, const std::string& out) {
    const auto& is = g_.values[n.in[0]].shape; // NHWC
    const auto& os = g_.values[n.out[0]].shape;
    const int64_t N = is[0], h = is[1], w = is[2], c = is[3], s = n.a.stride[0];
    auto v = reshape(n, to_nchw(n, x), {N, c / (s * s), h, s, w, s});
    auto t = temp(n, "perm");
    set_ints(add("Transpose", t, {v}, {t}), "perm", {0, 3, 5, 1, 2, 4});
    to_nhwc(n, reshape(n, t, {N, os[3], os[1], os[2]}), out);
  }

  void node(const node& n) {
    const auto& a = n.a;
    const std::string out = n.out.empty() ? std::string() : name(n.out[0]);
    auto pads4 = [&] { return std::vector<int64_t>{a.pads[0], a.pads[1], a.pads[2], a.pads[3]}; };
    switch (n.kind) {
      case op::conv2d: {
        const auto& w = g_.values[n.in[1]];
        if (!w.is_const || w.shape.size() != 4) fail(n, "the filter is not a 4-D constant");
        // HWIO -> OIHW.
        const int64_t kh = w.shape[0], kw = w.shape[1], ci = w.shape[2], co = w.shape[3];
        std::vector<float> oihw(w.data.f.size());
        for (int64_t h = 0; h < kh; ++h)
          for (int64_t x = 0; x < kw; ++x)
            for (int64_t i = 0; i < ci; ++i)
              for (int64_t o = 0; o < co; ++o)
                oihw[((o * ci + i) * kh + h) * kw + x] = w.data.f[((h * kw + x) * ci + i) * co + o];
        std::vector<std::string> in{to_nchw(n, input(n.in[0])),
                                    init_f32("c" + std::to_string(n.in[1]) + "/oihw", {co, ci, kh, kw}, oihw)};
        if (n.in.size() > 2) in.push_back(input(n.in[2]));
        auto y = temp(n, "conv");
        auto* p = add("Conv", n.name, in, {y});
        set_ints(p, "kernel_shape", {kh, kw});
        set_ints(p, "strides", {a.stride[0], a.stride[1]});
        set_ints(p, "dilations", {a.dilation[0], a.dilation[1]});
        set_ints(p, "pads", pads4());
        set_int(p, "group", a.groups);
        to_nhwc(n, activation(n, a.activation, a.alpha, a.beta, y), out);
        break;
      }
      case op::add:
      case op::sub:
      case op::mul:
      case op::div:
      case op::pow: {
        const char* type = n.kind == op::add ? "Add"
          : n.kind == op::sub                ? "Sub"
          : n.kind == op::mul                ? "Mul"
          : n.kind == op::pow                ? "Pow"
                                             : "Div";
        add(type, n.name, {input(n.in[0]), input(n.in[1])}, {out});
        break;
      }
      case op::activation:
        activation(n, a.activation, a.alpha, a.beta, input(n.in[0]), out);
        break;
      case op::pad: {
        // ONNX orders pads as all begins, then all ends.
        std::vector<int64_t> p;
        for (size_t i = 0; i < a.ints.size(); i += 2) p.push_back(a.ints[i]);
        for (size_t i = 1; i < a.ints.size(); i += 2) p.push_back(a.ints[i]);
        auto pn = init_i64(temp(n, "pads"), p);
        auto vn = init_f32(temp(n, "value"), {}, {a.pad_value});
        add("Pad", n.name, {input(n.in[0]), pn, vn}, {out});
        break;
      }
      case op::max_pool:
      case op::avg_pool: {
        auto y = temp(n, "pool");
        auto* p = add(n.kind == op::max_pool ? "MaxPool" : "AveragePool", n.name, {to_nchw(n, input(n.in[0]))}, {y});
        set_ints(p, "kernel_shape", {a.kernel[0], a.kernel[1]});
        set_ints(p, "strides", {a.stride[0], a.stride[1]});
        set_ints(p, "pads", pads4());
        if (n.kind == op::avg_pool) set_int(p, "count_include_pad", a.count_include_pad ? 1 : 0);
        to_nhwc(n, y, out);
        break;
      }
      case op::global_avg_pool: {
        auto y = temp(n, "pool");
        add("GlobalAveragePool", n.name, {to_nchw(n, input(n.in[0]))}, {y});
        to_nhwc(n, y, out);
        break;
      }
      case op::transpose:
        set_ints(add("Transpose", n.name, {input(n.in[0])}, {out}), "perm", a.ints);
        break;
      case op::concat: {
        std::vector<std::string> in;
        for (int v : n.in) in.push_back(input(v));
        set_int(add("Concat", n.name, in, {out}), "axis", a.axis);
        break;
      }
      case op::split: {
        std::vector<std::string> outs;
        for (int o : n.out) outs.push_back(name(o));
        set_int(add("Split", n.name, {input(n.in[0]), init_i64(temp(n, "sizes"), a.ints)}, outs), "axis", a.axis);
        break;
      }
      case op::reshape: {
        // The largest non-batch dim as -1: the same reshape at this size, and
        // the one that follows the image when the file is compiled for another
        // size (NanoDet's [1, cells, classes]).
        shape_t s = g_.values[n.out[0]].shape;
        if (s.size() > 1) *std::max_element(s.begin() + 1, s.end()) = -1;
        add("Reshape", n.name, {input(n.in[0]), init_i64(temp(n, "shape"), s)}, {out});
        break;
      }
      case op::resize_bilinear:
      case op::upsample: {
        const auto& os = g_.values[n.out[0]].shape; // NHWC
        auto y = temp(n, "resize");
        // Nearest by integer scales (what the importer reads back), linear by
        // sizes (size-free again once compiled: optimise measures the scale).
        auto x = to_nchw(n, input(n.in[0]));
        auto* p = n.kind == op::upsample
          ? add("Resize", n.name,
                {x, "",
                 init_f32(temp(n, "scales"), {4},
                          {1, 1, static_cast<float>(a.stride[0]), static_cast<float>(a.stride[1])})},
                {y})
          : add("Resize", n.name, {x, "", "", init_i64(temp(n, "sizes"), {os[0], os[3], os[1], os[2]})}, {y});
        if (n.kind == op::upsample) {
          set_str(p, "mode", "nearest");
          set_str(p, "coordinate_transformation_mode", "asymmetric");
          set_str(p, "nearest_mode", "floor");
        } else {
          set_str(p, "mode", "linear");
          set_str(p, "coordinate_transformation_mode",
                  a.half_pixel        ? "half_pixel"
                    : a.align_corners ? "align_corners"
                                      : "asymmetric");
        }
        to_nhwc(n, y, out);
        break;
      }
      case op::softmax:
        set_int(add("Softmax", n.name, {input(n.in[0])}, {out}), "axis", -1);
        break;
      case op::identity:
        add("Identity", n.name, {input(n.in[0])}, {out});
        break;
      case op::yolo_head:
        yolo_head(n, input(n.in[0]), out);
        break;
      case op::reorg:
        reorg(n, input(n.in[0]), out);
        break;
      case op::sparse_to_dense:
      case op::shape_fn:
        fail(n, "has no ONNX export (it only exists before constant folding)");
      case op::slice: {
        std::vector<int64_t> axes, starts, ends, steps;
        for (size_t k = 0; k + 3 < a.ints.size(); k += 4) {
          axes.push_back(a.ints[k]);
          starts.push_back(a.ints[k + 1]);
          ends.push_back(a.ints[k + 2]);
          steps.push_back(a.ints[k + 3]);
        }
        add("Slice", n.name,
            {input(n.in[0]), init_i64(temp(n, "starts"), starts), init_i64(temp(n, "ends"), ends),
             init_i64(temp(n, "axes"), axes), init_i64(temp(n, "steps"), steps)},
            {out});
        break;
      }
    }
  }
};

} // namespace

void export_onnx(const graph& g, const std::string& path) {
  auto m = exporter(g).run();
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw model_error(path + ": the model does not serialise (over 2 GB?)");
  std::ofstream out(path, std::ios::binary);
  if (!out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()))) throw model_error(path + ": cannot write");
}

} // namespace weaver::engine
