#include "accel/engine/passes.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "accel/engine/kernels.hpp"

namespace weaver::engine {

namespace {

[[noreturn]] void fail(const node& n, const std::string& why) {
  throw model_error("node '" + n.name + "' (" + (n.source_op.empty() ? op_name(n.kind) : n.source_op.c_str())
                    + "): " + why);
}

/// Numpy broadcasting of two shapes; empty optional-like flag on mismatch.
bool broadcast_shape(const shape_t& a, const shape_t& b, shape_t& out) {
  size_t r = std::max(a.size(), b.size());
  out.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x != y && x != 1 && y != 1) return false;
    out[i] = std::max(x, y);
  }
  return true;
}

/// Whether `perm` names each of `rank` axes once (a repeated axis made the
/// output larger than its input: read out of bounds, found by fuzz_onnx).
template <class Int>
bool is_permutation(const std::vector<Int>& perm, size_t rank) {
  if (perm.size() != rank) return false;
  std::vector<char> seen(rank, 0);
  for (auto p : perm) {
    if (p < 0 || static_cast<size_t>(p) >= rank || seen[static_cast<size_t>(p)]) return false;
    seen[static_cast<size_t>(p)] = 1;
  }
  return true;
}

/// Permutes constant data: out axis j = in axis perm[j].
tensor_data transpose_data(const tensor_data& t, const std::vector<int>& perm) {
  tensor_data o;
  o.type = t.type;
  for (int p : perm) o.shape.push_back(t.shape[static_cast<size_t>(p)]);
  auto in_st = strides_of(t.shape);
  int64_t n = numel(o.shape);
  (t.type == dtype::f32 ? o.f.resize(n) : o.i.resize(n));
  if (t.type == dtype::f32 && n > 0 && !perm.empty()) {
    // Weights (an export's filter layout change): the run-time kernel's
    // tiled walk, not an index per element (most of NanoDet's passes).
    kernels::transpose(t.f.data(), t.shape, std::vector<int64_t>(perm.begin(), perm.end()), o.f.data());
    return o;
  }
  std::vector<int64_t> idx(o.shape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t src = 0;
    for (size_t j = 0; j < idx.size(); ++j) src += idx[j] * in_st[static_cast<size_t>(perm[j])];
    if (t.type == dtype::f32)
      o.f[k] = t.f[src];
    else
      o.i[k] = t.i[src];
    for (int j = static_cast<int>(idx.size()) - 1; j >= 0; --j) {
      if (++idx[j] < o.shape[j]) break;
      idx[j] = 0;
    }
  }
  return o;
}

/// Elementwise op on two constants with broadcasting.
tensor_data eval_binary(op k, const tensor_data& a, const tensor_data& b, const node& n) {
  tensor_data o;
  if (!broadcast_shape(a.shape, b.shape, o.shape))
    fail(n, "shapes " + to_string(a.shape) + " and " + to_string(b.shape) + " do not broadcast");
  o.type = a.type == dtype::f32 || b.type == dtype::f32 ? dtype::f32 : dtype::i64;
  int64_t cnt = numel(o.shape);
  auto ost = strides_of(o.shape);
  auto index = [&](const tensor_data& t, int64_t k) {
    int64_t src = 0, mul = 1;
    for (int d = static_cast<int>(o.shape.size()) - 1, e = static_cast<int>(t.shape.size()) - 1; e >= 0; --d, --e) {
      int64_t coord = (k / ost[d]) % o.shape[d];
      if (t.shape[e] != 1) src += coord * mul;
      mul *= t.shape[e];
    }
    return src;
  };
  auto get = [](const tensor_data& t, int64_t i) {
    return t.type == dtype::f32 ? static_cast<double>(t.f[i]) : static_cast<double>(t.i[i]);
  };
  (o.type == dtype::f32 ? o.f.resize(cnt) : o.i.resize(cnt));
  for (int64_t q = 0; q < cnt; ++q) {
    double x = get(a, index(a, q)), y = get(b, index(b, q));
    double r = k == op::add ? x + y : k == op::sub ? x - y : k == op::mul ? x * y : k == op::pow ? std::pow(x, y) : 0.0;
    if (k == op::div) {
      if (o.type == dtype::i64 && y == 0) fail(n, "integer division by zero");
      r = o.type == dtype::i64 ? std::trunc(x / y) : x / y;
    }
    if (o.type == dtype::f32)
      o.f[q] = static_cast<float>(r);
    else
      o.i[q] = static_cast<int64_t>(r);
  }
  return o;
}

tensor_data eval_sparse_to_dense(const graph& g, const node& n) {
  const auto& idx = g.values[n.in[0]].data;
  const auto& shp = g.values[n.in[1]].data;
  const auto& vals = g.values[n.in[2]].data;
  const auto& dflt = g.values[n.in[3]].data;
  if (shp.type != dtype::i64 || idx.type != dtype::i64) fail(n, "indices and shape must be integers");
  tensor_data o;
  o.type = vals.type;
  o.shape = shp.i;
  int64_t cnt = numel(o.shape);
  auto dv = [&](const tensor_data& t, int64_t i) {
    return t.type == dtype::f32 ? static_cast<double>(t.f[i]) : static_cast<double>(t.i[i]);
  };
  if (numel(dflt.shape) != 1) fail(n, "default value must be a scalar");
  (o.type == dtype::f32 ? o.f.assign(cnt, static_cast<float>(dv(dflt, 0)))
                        : o.i.assign(cnt, static_cast<int64_t>(dv(dflt, 0))));
  int64_t rank = static_cast<int64_t>(o.shape.size());
  int64_t entries = idx.shape.empty() ? 1 : idx.shape[0];
  auto st = strides_of(o.shape);
  for (int64_t e = 0; e < entries; ++e) {
    int64_t flat = 0;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t c = idx.i[e * (idx.shape.size() > 1 ? rank : 1) + (idx.shape.size() > 1 ? d : 0)];
      if (c < 0 || c >= o.shape[d]) fail(n, "index out of range");
      flat += c * st[d];
    }
    double v = dv(vals, numel(vals.shape) == 1 ? 0 : e);
    if (o.type == dtype::f32)
      o.f[flat] = static_cast<float>(v);
    else
      o.i[flat] = static_cast<int64_t>(v);
  }
  return o;
}

std::vector<int> identity_order(size_t r) {
  std::vector<int> o(r);
  std::iota(o.begin(), o.end(), 0);
  return o;
}

int norm_axis(int axis, size_t rank, const node& n) {
  int r = static_cast<int>(rank);
  if (axis < -r || axis >= r) fail(n, "axis " + std::to_string(axis) + " out of range");
  return axis < 0 ? axis + r : axis;
}

/// Consumers of `v` (node indices) in g.
std::vector<int> users(const graph& g, int v) {
  std::vector<int> u;
  for (size_t n = 0; n < g.nodes.size(); ++n)
    for (int x : g.nodes[n].in)
      if (x == v) {
        u.push_back(static_cast<int>(n));
        break;
      }
  return u;
}

bool is_output(const graph& g, int v) { return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end(); }

/// Node `into` takes over the output of `from`, its only consumer, folded
/// into it; `from` is left empty and unreachable for prune() to drop.
void absorb(graph& g, int into, int from) {
  int out = g.nodes[static_cast<size_t>(from)].out.at(0);
  g.nodes[static_cast<size_t>(into)].out = {out};
  g.values[static_cast<size_t>(out)].producer = into;
  g.nodes[static_cast<size_t>(from)].in.clear();
  g.nodes[static_cast<size_t>(from)].out.clear();
}

/// A constant that holds one value per output channel `c` (shape [c] or
/// [1,..,1,c]); its values, or empty.
std::vector<float> per_channel(const value& v, int64_t c) {
  if (!v.is_const || v.type != dtype::f32 || v.shape.empty() || v.shape.back() != c || numel(v.shape) != c) return {};
  return v.data.f;
}

/// Reshape's output shape for an input of shape `in` (shape inference and
/// constant folding alike): a 0 copies the input's dimension when
/// `copy_zero_dims` (ONNX), one -1 takes the rest. A file may give any
/// dimensions: a second unknown, a -1 beside a 0 (nothing to infer it from),
/// other negatives, a product that overflows int64 (found by fuzz_onnx: it
/// was undefined) and a changed size are refused, naming `n`.
shape_t reshape_target(const node& n, const shape_t& target, bool copy_zero_dims, const shape_t& in) {
  shape_t o = target;
  const auto cannot = [&](const std::string& why) {
    fail(n, "cannot reshape " + to_string(in) + " to " + to_string(target) + why);
  };
  if (copy_zero_dims)
    for (size_t i = 0; i < o.size(); ++i)
      if (o[i] == 0) {
        if (i >= in.size()) fail(n, "a 0 in the shape names no input dimension of " + to_string(in));
        o[i] = in[i];
      }
  int64_t known = 1, unknown = -1;
  for (size_t i = 0; i < o.size(); ++i)
    if (o[i] == -1) {
      if (unknown >= 0) fail(n, "more than one unknown dimension in " + to_string(target));
      unknown = static_cast<int64_t>(i);
    } else if (o[i] < 0) {
      cannot(": negative dimension");
    } else if (__builtin_mul_overflow(known, o[i], &known)) {
      cannot(": too many elements");
    }
  if (unknown >= 0) {
    if (known == 0) cannot(": the unknown dimension beside a 0 cannot be inferred");
    o[static_cast<size_t>(unknown)] = numel(in) / known;
  }
  if (numel(o) != numel(in)) cannot("");
  return o;
}

} // namespace

namespace {

bool has_shape_fn(const graph& g) {
  for (const auto& n : g.nodes)
    if (n.kind == op::shape_fn) return true;
  return false;
}

} // namespace

void fold_constants(graph& g) {
  // Readers of each value (a graph output counts as one): a constant whose
  // only reader is the transpose folding it gives its storage to the result.
  std::vector<int> readers(g.values.size(), 0);
  for (const auto& n : g.nodes)
    for (int v : n.in) ++readers[static_cast<size_t>(v)];
  for (int v : g.outputs) ++readers[static_cast<size_t>(v)];
  std::vector<float> scratch; // one buffer for every in-place transpose
  for (auto& n : g.nodes) {
    bool all_const = !n.in.empty();
    for (int v : n.in) all_const = all_const && g.values[v].is_const;
    if (!all_const) continue;
    tensor_data r;
    switch (n.kind) {
      case op::add:
      case op::sub:
      case op::mul:
      case op::div:
      case op::pow:
        r = eval_binary(n.kind, g.values[n.in[0]].data, g.values[n.in[1]].data, n);
        break;
      case op::sparse_to_dense:
        r = eval_sparse_to_dense(g, n);
        break;
      case op::identity:
        r = g.values[n.in[0]].data;
        if (n.source_op == "Cast" && r.type == dtype::i64) {
          // ONNX Cast to a float type (the importer's identity: a float
          // tensor stays float) of shape arithmetic: the value turns float,
          // or a Div after it would divide integers.
          r.f.assign(r.i.begin(), r.i.end());
          r.i.clear();
          r.type = dtype::f32;
        }
        break;
      case op::reshape: {
        r = g.values[n.in[0]].data;
        const auto& s = g.values[n.in[1]].data;
        if (s.type != dtype::i64) fail(n, "shape must be integers");
        r.shape = reshape_target(n, s.i, n.a.copy_zero_dims, r.shape);
        break;
      }
      case op::transpose: {
        if (!is_permutation(n.a.ints, g.values[n.in[0]].data.shape.size()))
          fail(n, "perm is not a permutation of the input's axes");
        std::vector<int> perm(n.a.ints.begin(), n.a.ints.end());
        auto& src = g.values[n.in[0]];
        if (src.data.type == dtype::f32 && readers[static_cast<size_t>(n.in[0])] == 1 && !src.data.f.empty()
            && !perm.empty()) {
          // An ONNX conv's weights (OIHW -> HWIO): transposed through one
          // reused buffer back into their own storage. A new vector each
          // would be fresh pages for the whole model while the originals
          // still live (first touches cost far more than the copy).
          r.type = dtype::f32;
          for (int q : perm) r.shape.push_back(src.data.shape[static_cast<size_t>(q)]);
          if (scratch.size() < src.data.f.size()) scratch.resize(src.data.f.size());
          kernels::transpose(src.data.f.data(), src.data.shape, std::vector<int64_t>(perm.begin(), perm.end()),
                             scratch.data());
          r.f = std::move(src.data.f);
          std::copy(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(r.f.size()), r.f.begin());
          // Left empty, not dangling (no reader; pruned with the layout pass).
          src.data = tensor_data{};
          src.data.shape = {0};
          src.shape = {0};
        } else {
          r = transpose_data(src.data, perm);
        }
        break;
      }
      case op::slice:
        try {
          r = slice_constant(g.values[n.in[0]].data, n.a.ints);
        } catch (const model_error& e) {
          fail(n, e.what());
        }
        break;
      case op::concat: {
        std::vector<const tensor_data*> parts;
        for (int v : n.in) parts.push_back(&g.values[v].data);
        try {
          r = concat_constants(parts, n.a.axis);
        } catch (const model_error& e) {
          fail(n, e.what());
        }
        break;
      }
      case op::shape_fn:
        try {
          r = eval_shape_op(n.source_op, g.values[n.in[0]].data, n.in.size() > 1 ? &g.values[n.in[1]].data : nullptr,
                            n.a);
        } catch (const model_error& e) {
          fail(n, e.what());
        }
        break;
      default:
        continue;
    }
    int o = n.out[0];
    g.values[o].is_const = true;
    g.values[o].type = r.type;
    g.values[o].shape = r.shape;
    g.values[o].data = std::move(r);
    g.values[o].producer = -1;
  }
  // Reshape's shape becomes an attribute (a computed one once fold_shapes
  // has made it a constant).
  const bool pending = has_shape_fn(g);
  for (auto& n : g.nodes) {
    if (n.kind != op::reshape || n.in.size() < 2) continue;
    const auto& s = g.values[n.in[1]];
    if (!s.is_const && pending) continue;
    if (!s.is_const || s.type != dtype::i64) fail(n, "the target shape is not a constant");
    n.a.ints = s.data.i;
    n.in.resize(1);
  }
  // A resize's scales or sizes computed in the graph, likewise.
  for (auto& n : g.nodes) {
    if ((n.kind != op::upsample && n.kind != op::resize_bilinear) || n.in.size() < 2) continue;
    const auto& s = g.values[n.in[1]];
    if (!s.is_const && pending) continue;
    if (!s.is_const) fail(n, "the output size is not a constant");
    try {
      set_resize_target(n.kind, s.data, n.a.axis == 2, n.a);
    } catch (const model_error& e) {
      fail(n, e.what());
    }
    n.in.resize(1);
  }
  g.prune();
}

void infer_shapes(graph& g) { infer_shapes(g, nullptr); }

void infer_shapes(graph& g, std::vector<char>* known) {
  for (auto& n : g.nodes) {
    if (known) { // partial: nodes whose inputs all have shapes, except what shape_fn still decides
      bool ok = n.kind != op::shape_fn && !(n.kind == op::reshape && n.in.size() > 1)
        && !((n.kind == op::upsample || n.kind == op::resize_bilinear) && n.in.size() > 1);
      for (int v : n.in) ok = ok && (*known)[static_cast<size_t>(v)];
      if (!ok) continue;
      for (int o : n.out) (*known)[static_cast<size_t>(o)] = 1;
    }
    auto in_shape = [&](size_t k) -> const shape_t& { return g.values[n.in.at(k)].shape; };
    auto set_out = [&](size_t k, shape_t s) {
      for (auto d : s)
        if (d < 0) fail(n, "negative dimension in " + to_string(s));
      g.values[n.out.at(k)].shape = std::move(s);
      g.values[n.out[k]].type = dtype::f32;
    };
    const shape_t& x = in_shape(0);
    auto& a = n.a;
    auto spatial_out = [&](int64_t h, int64_t w, int kh, int kw) {
      std::array<int64_t, 2> out{};
      int64_t dims[2] = {h, w};
      int ks[2] = {kh, kw};
      for (int i = 0; i < 2; ++i) {
        // An imported file may say anything: a zero stride would divide by zero below.
        if (a.stride[i] < 1 || a.dilation[i] < 1 || ks[i] < 1)
          fail(n, "strides, dilations and kernel sizes must be at least 1");
        if (a.pads[i] < 0 || a.pads[i + 2] < 0) fail(n, "negative padding");
        int64_t eff = static_cast<int64_t>(ks[i] - 1) * a.dilation[i] + 1;
        if (a.same_padding) {
          int64_t o = (dims[i] + a.stride[i] - 1) / a.stride[i];
          int64_t total = std::max<int64_t>((o - 1) * a.stride[i] + eff - dims[i], 0);
          int64_t small = total / 2, large = total - small; // SAME_LOWER puts the odd pixel first
          a.pads[i] = static_cast<int>(a.same_lower ? large : small);
          a.pads[i + 2] = static_cast<int>(a.same_lower ? small : large);
        }
        int64_t span = dims[i] + a.pads[i] + a.pads[i + 2] - eff;
        if (span < 0) fail(n, "kernel larger than the padded input " + to_string(x));
        out[i] = span / a.stride[i] + 1;
        if (a.ceil_mode && span % a.stride[i]) {
          // One more window, unless it would start in the end padding
          // (ONNX's and PyTorch's rule); the kernels treat the cells past
          // the end as padding, which never wins a max.
          int64_t more = span / a.stride[i] + 2;
          if ((more - 1) * a.stride[i] < dims[i] + a.pads[i]) out[i] = more;
        }
      }
      return out;
    };
    switch (n.kind) {
      case op::conv2d: {
        const shape_t& w = in_shape(1);
        if (x.size() != 4 || w.size() != 4)
          fail(n, "needs NHWC input and HWIO filter, got " + to_string(x) + " and " + to_string(w));
        if (a.groups < 1) fail(n, "groups must be at least 1");
        if (x[3] != w[2] * a.groups)
          fail(n, "input has " + std::to_string(x[3]) + " channels, filter expects " + std::to_string(w[2] * a.groups));
        if (w[3] % a.groups != 0) fail(n, "output channels not divisible by groups");
        if (n.in.size() > 2 && numel(in_shape(2)) != w[3]) fail(n, "bias size != output channels");
        a.kernel = {static_cast<int>(w[0]), static_cast<int>(w[1])};
        auto hw = spatial_out(x[1], x[2], a.kernel[0], a.kernel[1]);
        set_out(0, {x[0], hw[0], hw[1], w[3]});
        break;
      }
      case op::max_pool:
      case op::avg_pool: {
        if (x.size() != 4) fail(n, "needs NHWC input, got " + to_string(x));
        auto hw = spatial_out(x[1], x[2], a.kernel[0], a.kernel[1]);
        set_out(0, {x[0], hw[0], hw[1], x[3]});
        break;
      }
      case op::global_avg_pool:
        if (x.size() != 4) fail(n, "needs NHWC input, got " + to_string(x));
        set_out(0, {x[0], 1, 1, x[3]});
        break;
      case op::add:
      case op::sub:
      case op::mul:
      case op::div:
      case op::pow: {
        shape_t o;
        if (!broadcast_shape(x, in_shape(1), o))
          fail(n, "shapes " + to_string(x) + " and " + to_string(in_shape(1)) + " do not broadcast");
        set_out(0, o);
        break;
      }
      case op::activation:
      case op::identity:
      case op::softmax:
        set_out(0, x);
        break;
      case op::yolo_head:
        if (x.size() != 4 || x[3] != static_cast<int64_t>(a.anchors) * (5 + a.classes))
          fail(n,
               "input " + to_string(x) + " does not hold " + std::to_string(a.anchors) + " anchors of "
                 + std::to_string(5 + a.classes) + " channels");
        set_out(0, x);
        break;
      case op::pad: {
        if (a.ints.size() != 2 * x.size()) fail(n, "paddings do not match rank " + to_string(x));
        shape_t o = x;
        for (size_t i = 0; i < x.size(); ++i) o[i] += a.ints[2 * i] + a.ints[2 * i + 1];
        set_out(0, o);
        break;
      }
      case op::transpose: {
        if (a.ints.size() != x.size()) fail(n, "perm does not match rank " + to_string(x));
        if (!is_permutation(a.ints, x.size())) fail(n, "bad perm");
        shape_t o;
        for (auto p : a.ints) o.push_back(x[static_cast<size_t>(p)]);
        set_out(0, o);
        break;
      }
      case op::concat: {
        int ax = norm_axis(a.axis, x.size(), n);
        a.axis = ax;
        shape_t o = x;
        for (size_t k = 1; k < n.in.size(); ++k) {
          const auto& y = in_shape(k);
          if (y.size() != x.size()) fail(n, "inputs of different rank");
          for (size_t d = 0; d < x.size(); ++d)
            if (static_cast<int>(d) != ax && y[d] != x[d])
              fail(n, "inputs " + to_string(x) + " and " + to_string(y) + " differ off the axis");
          o[ax] += y[ax];
        }
        set_out(0, o);
        break;
      }
      case op::split: {
        int ax = norm_axis(a.axis, x.size(), n);
        a.axis = ax;
        int64_t known = 0, unknown = 0;
        for (auto s : a.ints) (s < 0 ? ++unknown : known += s);
        if (unknown == static_cast<int64_t>(a.ints.size())) {
          if (x[ax] % unknown) fail(n, "axis size not divisible into equal parts");
          for (auto& s : a.ints) s = x[ax] / unknown;
        } else if (unknown == 1) {
          for (auto& s : a.ints)
            if (s < 0) s = x[ax] - known;
        }
        int64_t sum = 0;
        for (auto s : a.ints) sum += s;
        if (sum != x[ax]) fail(n, "split sizes do not add up to " + std::to_string(x[ax]));
        for (size_t k = 0; k < a.ints.size(); ++k) {
          shape_t o = x;
          o[ax] = a.ints[k];
          set_out(k, o);
        }
        break;
      }
      case op::reshape: {
        set_out(0, reshape_target(n, a.ints, a.copy_zero_dims, x));
        break;
      }
      case op::resize_bilinear:
        if (n.in.size() > 1) fail(n, "the output size computed in the graph was not resolved");
        if (x.size() != 4 || (a.ints.size() != 2 && a.scale[0] <= 0)) fail(n, "needs NHWC input and a 2-D size");
        if (a.scale[0] > 0 && a.axis == 2) // an ONNX file's scales: floor (7.5 -> 7), ONNX's rule
          set_out(0,
                  {x[0], static_cast<int64_t>(std::floor(static_cast<double>(x[1]) * a.scale[0])),
                   static_cast<int64_t>(std::floor(static_cast<double>(x[2]) * a.scale[1])), x[3]});
        else if (a.scale[0] > 0)
          set_out(0, {x[0], std::lround(x[1] * a.scale[0]), std::lround(x[2] * a.scale[1]), x[3]});
        else
          set_out(0, {x[0], a.ints[0], a.ints[1], x[3]});
        break;
      case op::upsample:
        if (n.in.size() > 1) fail(n, "the output size computed in the graph was not resolved");
        if (x.size() != 4) fail(n, "needs NHWC input");
        if (a.ints.size() == 2) { // an output size (ONNX Resize by sizes): integer factors from here on
          if (x[1] < 1 || x[2] < 1 || a.ints[0] % x[1] || a.ints[1] % x[2])
            fail(n,
                 "nearest resize of " + to_string(x) + " to " + std::to_string(a.ints[0]) + "x"
                   + std::to_string(a.ints[1]) + " is not by integer factors");
          a.stride = {static_cast<int>(a.ints[0] / x[1]), static_cast<int>(a.ints[1] / x[2])};
          a.ints.clear();
        }
        set_out(0, {x[0], x[1] * a.stride[0], x[2] * a.stride[1], x[3]});
        break;
      case op::reorg: {
        int s = a.stride[0];
        if (s < 1) fail(n, "stride must be at least 1");
        if (x.size() != 4 || x[1] % s || x[2] % s) fail(n, "input " + to_string(x) + " not divisible by stride");
        set_out(0, {x[0], x[1] / s, x[2] / s, x[3] * s * s});
        break;
      }
      case op::sparse_to_dense:
        fail(n, "only constant SparseToDense is supported");
      case op::shape_fn:
        fail(n, "shape arithmetic on a computed tensor was not resolved (fold_shapes)");
      case op::slice: {
        std::vector<int64_t> starts, steps;
        shape_t o;
        try {
          slice_geometry(a.ints, x, starts, steps, o);
        } catch (const model_error& e) {
          fail(n, e.what());
        }
        set_out(0, o);
        break;
      }
    }
  }
}

void remove_layout_transposes(graph& g) {
  graph ng;
  ng.format = g.format;
  struct placed {
    int v = -1;
    std::vector<int> order; // storage axis i holds logical axis order[i]
  };
  std::vector<placed> map(g.values.size());

  auto storage_shape = [](const shape_t& logical, const std::vector<int>& order) {
    shape_t s;
    for (int o : order) s.push_back(logical[static_cast<size_t>(o)]);
    return s;
  };
  auto new_value = [&](const std::string& name, shape_t shape) {
    value v;
    v.name = name;
    v.shape = std::move(shape);
    return ng.add_value(std::move(v));
  };
  auto get = [&](int old) -> placed& {
    auto& p = map[old];
    if (p.v < 0 && g.values[old].is_const) {
      // Moved, not copied: `g` is replaced by `ng` at the end, and the
      // weights are most of a model (a copy was 15% of yolov2-tiny's load).
      p.v = ng.add_const(g.values[old].name, std::move(g.values[old].data));
      p.order = identity_order(g.values[old].shape.size());
    }
    if (p.v < 0) throw model_error("value '" + g.values[old].name + "' used before it is produced");
    return p;
  };
  // Moves `old` into storage order `target`, adding a real transpose if needed.
  auto in_order = [&](int old, const std::vector<int>& target) -> int {
    auto& p = get(old);
    if (p.order == target) return p.v;
    std::vector<int64_t> perm;
    for (int t : target) perm.push_back(std::find(p.order.begin(), p.order.end(), t) - p.order.begin());
    attrs a;
    a.ints = perm;
    int id = ng.add_node(op::transpose, g.values[old].name + "/to_layout", {p.v}, a, 1, "layout");
    int out = ng.nodes[id].out[0];
    ng.values[out].shape = storage_shape(g.values[old].shape, target);
    return out;
  };

  for (int in : g.inputs) {
    const auto& v = g.values[in];
    bool nchw = v.shape.size() == 4 && (v.shape[1] == 1 || v.shape[1] == 3 || v.shape[1] == 4) && v.shape[2] > 4
      && v.shape[3] > 4;
    auto order = nchw ? std::vector<int>{0, 2, 3, 1} : identity_order(v.shape.size());
    int nv = new_value(v.name, storage_shape(v.shape, order));
    ng.inputs.push_back(nv);
    map[in] = {nv, order};
  }

  for (const auto& n : g.nodes) {
    attrs a = n.a;
    const auto& out_logical = g.values[n.out[0]].shape;
    auto emit = [&](std::vector<int> ins, const std::vector<int>& order) {
      int id = ng.add_node(n.kind, n.name, std::move(ins), a, static_cast<int>(n.out.size()), n.source_op);
      for (size_t k = 0; k < n.out.size(); ++k) {
        int o = ng.nodes[id].out[k];
        ng.values[o].name = g.values[n.out[k]].name;
        ng.values[o].shape = storage_shape(g.values[n.out[k]].shape, order);
        map[n.out[k]] = {o, order};
      }
    };
    auto pos_of = [](const std::vector<int>& order, int logical) {
      return static_cast<int>(std::find(order.begin(), order.end(), logical) - order.begin());
    };
    const auto ident4 = identity_order(4);
    switch (n.kind) {
      case op::identity:
        map[n.out[0]] = get(n.in[0]);
        break;
      case op::transpose: {
        auto p = get(n.in[0]);
        std::vector<int> inv(a.ints.size());
        for (size_t j = 0; j < a.ints.size(); ++j) inv[static_cast<size_t>(a.ints[j])] = static_cast<int>(j);
        for (auto& o : p.order) o = inv[static_cast<size_t>(o)];
        map[n.out[0]] = p;
        break;
      }
      case op::activation: {
        auto p = get(n.in[0]);
        emit({p.v}, p.order);
        break;
      }
      case op::add:
      case op::sub:
      case op::mul:
      case op::div:
      case op::pow: {
        int vary = g.values[n.in[0]].is_const ? 1 : 0;
        int other = 1 - vary;
        auto p = get(n.in[vary]);
        std::vector<int> ins(2);
        ins[vary] = p.v;
        const auto& ov = g.values[n.in[other]];
        if (ov.is_const) {
          // Broadcast constant: pad its shape to the rank, store it in order.
          const int moved = map[static_cast<size_t>(n.in[other])].v; // get() took its data
          tensor_data d = moved >= 0 ? ng.values[static_cast<size_t>(moved)].data : ov.data;
          while (d.shape.size() < p.order.size()) d.shape.insert(d.shape.begin(), 1);
          if (d.type == dtype::i64) { // Pow's integer exponent (or a shape): the kernels read floats
            d.f.assign(d.i.begin(), d.i.end());
            d.i.clear();
            d.type = dtype::f32;
          }
          if (d.shape.size() != p.order.size()) fail(n, "constant of higher rank than the tensor");
          ins[other] = ng.add_const(ov.name + "/stored", transpose_data(d, p.order));
        } else {
          if (ov.shape.size() != p.order.size()) fail(n, "operands of different rank");
          ins[other] = in_order(n.in[other], p.order);
        }
        emit(ins, p.order);
        break;
      }
      case op::pad: {
        auto p = get(n.in[0]);
        std::vector<int64_t> pads;
        for (int o : p.order) {
          pads.push_back(n.a.ints[2 * static_cast<size_t>(o)]);
          pads.push_back(n.a.ints[2 * static_cast<size_t>(o) + 1]);
        }
        a.ints = pads;
        emit({p.v}, p.order);
        break;
      }
      case op::concat: {
        auto order = get(n.in[0]).order;
        std::vector<int> ins;
        for (int v : n.in) ins.push_back(in_order(v, order));
        a.axis = pos_of(order, n.a.axis);
        emit(ins, order);
        break;
      }
      case op::split: {
        auto p = get(n.in[0]);
        a.axis = pos_of(p.order, n.a.axis);
        emit({p.v}, p.order);
        break;
      }
      case op::slice: { // any storage order: the axes follow it
        auto p = get(n.in[0]);
        const int r = static_cast<int>(p.order.size());
        for (size_t k = 0; k < a.ints.size(); k += 4) {
          int64_t ax = n.a.ints[k] < 0 ? n.a.ints[k] + r : n.a.ints[k];
          a.ints[k] = pos_of(p.order, static_cast<int>(ax));
        }
        emit({p.v}, p.order);
        break;
      }
      case op::softmax: {
        auto p = get(n.in[0]);
        int last = static_cast<int>(p.order.size()) - 1;
        if (p.order.back() == last)
          emit({p.v}, p.order);
        else
          emit({in_order(n.in[0], identity_order(p.order.size()))}, identity_order(p.order.size()));
        break;
      }
      case op::reshape: {
        // Merging adjacent logical axes that are also adjacent, in the same
        // order, in storage moves no data: reshape in storage order.
        auto p = get(n.in[0]);
        const auto& x = g.values[n.in[0]].shape;
        std::vector<std::vector<int>> runs(out_logical.size());
        size_t i = 0;
        bool ok = true;
        for (size_t j = 0; j < out_logical.size() && ok; ++j) {
          if (out_logical[j] == 1) {
            if (i < x.size() && x[i] == 1) runs[j].push_back(static_cast<int>(i++));
            continue;
          }
          int64_t prod = 1;
          while (prod < out_logical[j] && i < x.size()) {
            prod *= x[i];
            runs[j].push_back(static_cast<int>(i++));
          }
          ok = prod == out_logical[j];
        }
        for (; i < x.size() && ok; ++i) ok = x[i] == 1;
        for (const auto& r : runs)
          for (size_t k = 1; k < r.size() && ok; ++k) ok = pos_of(p.order, r[k]) == pos_of(p.order, r[k - 1]) + 1;
        if (ok) {
          std::vector<std::pair<double, int>> keys;
          double last = -1;
          for (size_t j = 0; j < runs.size(); ++j) {
            double key = runs[j].empty() ? last + 1e-3 : pos_of(p.order, runs[j][0]);
            keys.push_back({key, static_cast<int>(j)});
            last = key;
          }
          std::stable_sort(keys.begin(), keys.end());
          std::vector<int> order;
          for (auto& k : keys) order.push_back(k.second);
          auto st = storage_shape(out_logical, order);
          a.ints.assign(st.begin(), st.end());
          a.copy_zero_dims = false; // the target is now explicit
          emit({p.v}, order);
        } else {
          auto id = identity_order(x.size());
          a.ints.assign(out_logical.begin(), out_logical.end());
          a.copy_zero_dims = false;
          emit({in_order(n.in[0], id)}, identity_order(out_logical.size()));
        }
        break;
      }
      default: { // image ops: NHWC in storage order
        std::vector<int> ins;
        for (size_t k = 0; k < n.in.size(); ++k) {
          const auto& v = g.values[n.in[k]];
          ins.push_back(v.is_const ? get(n.in[k]).v : in_order(n.in[k], identity_order(v.shape.size())));
        }
        emit(ins, out_logical.size() == 4 ? ident4 : identity_order(out_logical.size()));
        break;
      }
    }
  }
  for (int o : g.outputs) {
    int v = in_order(o, identity_order(g.values[o].shape.size()));
    ng.values[v].name = g.values[o].name;
    ng.outputs.push_back(v);
  }
  g = std::move(ng);
  g.prune();
}

void fold_padding(graph& g) {
  for (auto& n : g.nodes) {
    // Identity: consumers read its input instead.
    if (n.kind == op::identity && !is_output(g, n.out[0])) {
      for (auto& m : g.nodes)
        for (auto& v : m.in)
          if (v == n.out[0]) v = n.in[0];
    }
  }
  g.prune();
  for (auto& n : g.nodes) {
    if (n.kind != op::pad || is_output(g, n.out[0])) continue;
    const auto& x = g.values[n.in[0]].shape;
    const auto& p = n.a.ints;
    if (x.size() != 4 || p[0] || p[1] || p[6] || p[7]) continue; // spatial pads only
    auto u = users(g, n.out[0]);
    bool zero = n.a.pad_value == 0.0f;
    bool never_max = n.a.pad_value <= -1e30f;
    bool all = !u.empty();
    for (int c : u) {
      const auto& m = g.nodes[c];
      all = all && m.in[0] == n.out[0] && !m.a.same_padding
        && ((m.kind == op::conv2d && zero) || (m.kind == op::max_pool && never_max));
    }
    if (!all) continue;
    for (int c : u) {
      auto& m = g.nodes[c];
      m.a.pads[0] += static_cast<int>(p[2]);
      m.a.pads[2] += static_cast<int>(p[3]);
      m.a.pads[1] += static_cast<int>(p[4]);
      m.a.pads[3] += static_cast<int>(p[5]);
      m.in[0] = n.in[0];
    }
  }
  g.prune();
}

void fold_batch_norm_and_bias(graph& g) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto& n : g.nodes) {
      if (n.kind != op::conv2d || n.a.activation != act::none || is_output(g, n.out[0])) continue;
      auto u = users(g, n.out[0]);
      if (u.size() != 1) continue;
      auto& m = g.nodes[u[0]];
      if (m.kind != op::add && m.kind != op::sub && m.kind != op::mul) continue;
      int other = m.in[0] == n.out[0] ? 1 : 0;
      if (m.in[other] == n.out[0]) continue;
      if (m.kind == op::sub && other == 0) continue; // c - conv is not a bias
      auto& w = g.values[n.in[1]];
      int64_t co = w.shape[3];
      auto k = per_channel(g.values[m.in[other]], co);
      if (k.empty()) continue;
      // Own copies: the filter and bias may be shared constants.
      tensor_data wd = w.data;
      tensor_data bd;
      if (n.in.size() > 2)
        bd = g.values[n.in[2]].data;
      else {
        bd.shape = {co};
        bd.f.assign(static_cast<size_t>(co), 0.0f);
      }
      if (m.kind == op::mul) {
        for (size_t q = 0; q < wd.f.size(); ++q) wd.f[q] *= k[q % static_cast<size_t>(co)];
        for (int64_t c = 0; c < co; ++c) bd.f[c] *= k[c];
      } else {
        float sign = m.kind == op::sub ? -1.0f : 1.0f;
        for (int64_t c = 0; c < co; ++c) bd.f[c] += sign * k[c];
      }
      int wv = g.add_const(n.name + "/filter", std::move(wd));
      int bv = g.add_const(n.name + "/bias", std::move(bd));
      n.in = {n.in[0], wv, bv};
      absorb(g, static_cast<int>(&n - g.nodes.data()), u[0]);
      changed = true;
    }
  }
  g.prune();
}

namespace {

// Whether `chain` (transposes and reshapes, in order) applied to a
// row-major tensor of shape `in` leaves every element at its offset, so
// the chain is one reshape. Each axis is tracked as a run of "atoms": the
// input's axes, split where a reshape splits them; the chain moves no data
// when the output's atoms, read row-major, are the input's in their order
// (atoms of size 1 aside, which any permutation may move).
bool moves_no_data(const graph& g, const shape_t& in, const std::vector<int>& chain) {
  std::vector<int64_t> size; // per atom
  std::vector<int> order; // the input's atoms, major to minor
  std::vector<std::vector<int>> axes; // per axis: its atoms, major to minor
  for (int64_t d : in) {
    if (d < 1) return false;
    axes.emplace_back();
    if (d == 1) continue;
    axes.back().push_back(static_cast<int>(size.size()));
    order.push_back(static_cast<int>(size.size()));
    size.push_back(d);
  }
  for (int k : chain) {
    const node& n = g.nodes[static_cast<size_t>(k)];
    if (n.kind == op::transpose) {
      if (n.a.ints.size() != axes.size()) return false;
      std::vector<std::vector<int>> t;
      for (int64_t p : n.a.ints) {
        if (p < 0 || p >= static_cast<int64_t>(axes.size())) return false;
        t.push_back(axes[static_cast<size_t>(p)]);
      }
      axes = std::move(t);
      continue;
    }
    std::vector<int> flat; // a reshape regroups the atoms in row-major order
    for (const auto& a : axes) flat.insert(flat.end(), a.begin(), a.end());
    std::vector<std::vector<int>> r;
    size_t pos = 0;
    for (int64_t d : g.values[static_cast<size_t>(n.out[0])].shape) {
      r.emplace_back();
      for (int64_t need = d; need > 1;) {
        if (pos == flat.size()) return false;
        const int x = flat[pos];
        const int64_t sx = size[static_cast<size_t>(x)];
        if (sx <= need) {
          if (need % sx != 0) return false;
          r.back().push_back(x);
          need /= sx;
          ++pos;
          continue;
        }
        if (sx % need != 0) return false;
        // Split x into a major atom of `need` and a minor one of the rest.
        const int hi = static_cast<int>(size.size()), lo = hi + 1;
        size.push_back(need);
        size.push_back(sx / need);
        auto at = std::find(order.begin(), order.end(), x);
        *at = lo;
        order.insert(at, hi);
        r.back().push_back(hi);
        flat[pos] = lo;
        need = 1;
      }
    }
    if (pos != flat.size()) return false;
    axes = std::move(r);
  }
  std::vector<int> out;
  for (const auto& a : axes) out.insert(out.end(), a.begin(), a.end());
  return out == order;
}

} // namespace

void fold_data_free_transposes(graph& g) {
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (g.nodes[k].kind != op::transpose || g.nodes[k].out.size() != 1) continue;
    const shape_t in = g.values[static_cast<size_t>(g.nodes[k].in[0])].shape;
    // The longest chain from here, through values nobody else reads, that
    // moves no data.
    std::vector<int> chain{static_cast<int>(k)};
    size_t best = moves_no_data(g, in, chain) ? 1 : 0;
    for (int v = g.nodes[k].out[0]; !is_output(g, v);) {
      auto u = users(g, v);
      if (u.size() != 1) break;
      const node& next = g.nodes[static_cast<size_t>(u[0])];
      if ((next.kind != op::transpose && next.kind != op::reshape) || next.out.size() != 1) break;
      chain.push_back(u[0]);
      if (moves_no_data(g, in, chain)) best = chain.size();
      v = next.out[0];
    }
    if (best == 0) continue;
    node& first = g.nodes[k];
    const int out = g.nodes[static_cast<size_t>(chain[best - 1])].out[0];
    first.kind = op::reshape;
    first.a.ints = g.values[static_cast<size_t>(out)].shape;
    for (size_t i = 1; i < best; ++i) {
      g.nodes[static_cast<size_t>(chain[i])].in.clear();
      g.nodes[static_cast<size_t>(chain[i])].out.clear();
    }
    first.out = {out};
    g.values[static_cast<size_t>(out)].producer = static_cast<int>(k);
  }
  g.prune();
}

void fuse_silu(graph& g) {
  for (auto& s : g.nodes) {
    if (s.kind != op::activation || s.a.activation != act::sigmoid || s.out.empty() || is_output(g, s.out[0])) continue;
    const int x = s.in[0];
    auto u = users(g, s.out[0]);
    if (u.size() != 1) continue;
    const auto& m = g.nodes[static_cast<size_t>(u[0])];
    const bool pair = m.kind == op::mul && m.in.size() == 2
      && ((m.in[0] == x && m.in[1] == s.out[0]) || (m.in[1] == x && m.in[0] == s.out[0]));
    if (!pair || g.values[static_cast<size_t>(m.out[0])].shape != g.values[static_cast<size_t>(x)].shape) continue;
    s.a.activation = act::silu;
    absorb(g, static_cast<int>(&s - g.nodes.data()), u[0]);
  }
  g.prune();
}

void fuse_activation(graph& g) {
  for (auto& n : g.nodes) {
    if (n.kind != op::conv2d || n.a.activation != act::none || is_output(g, n.out[0])) continue;
    auto u = users(g, n.out[0]);
    if (u.size() != 1 || g.nodes[u[0]].kind != op::activation) continue;
    const auto& m = g.nodes[static_cast<size_t>(u[0])];
    if (m.a.activation == act::exp) continue;
    n.a.activation = m.a.activation;
    n.a.alpha = m.a.alpha;
    n.a.beta = m.a.beta;
    absorb(g, static_cast<int>(&n - g.nodes.data()), u[0]);
  }
  g.prune();
}

void fold_shapes(graph& g) {
  while (has_shape_fn(g)) {
    std::vector<char> known(g.values.size(), 0);
    for (int in : g.inputs) known[static_cast<size_t>(in)] = 1;
    for (size_t v = 0; v < g.values.size(); ++v)
      if (g.values[v].is_const) known[v] = 1;
    infer_shapes(g, &known);
    bool changed = false;
    for (auto& n : g.nodes)
      if (n.kind == op::shape_fn && n.source_op == "Shape" && known[static_cast<size_t>(n.in[0])]) {
        tensor_data x;
        x.shape = g.values[static_cast<size_t>(n.in[0])].shape; // Shape reads only the shape
        int o = n.out[0];
        try {
          g.values[o].data = eval_shape_op("Shape", x, nullptr, n.a);
        } catch (const model_error& e) {
          fail(n, e.what());
        }
        g.values[o].is_const = true;
        g.values[o].type = dtype::i64;
        g.values[o].shape = g.values[o].data.shape;
        g.values[o].producer = -1;
        n.in.clear(); // the node is done: prune drops it
        n.out.clear();
        changed = true;
      }
    if (!changed)
      for (const auto& n : g.nodes)
        if (n.kind == op::shape_fn)
          fail(n, "needs the values of a computed tensor, not only its shape (dynamic shapes are not supported)");
    fold_constants(g); // the chains after the shapes, and the reshapes they feed
  }
}

void optimise(graph& g, int batch, int height, int width) {
  fold_constants(g);
  if (batch < 1) throw model_error("batch must be >= 1");
  if (height > 0 && width > 0) {
    // At the native size: fixed-size resizes become scale factors. Only
    // when there are any: an ONNX model with symbolic dims has no native
    // size (its dims read 1 until set here). Shapes computed in the graph are
    // resolved on a copy at that size: the real ones follow the compile size.
    bool sized = false;
    for (const auto& n : g.nodes)
      sized = sized || ((n.kind == op::resize_bilinear || n.kind == op::upsample) && n.a.ints.size() == 2);
    if (sized) {
      graph native = g;
      fold_shapes(native);
      infer_shapes(native);
      std::map<std::string, std::pair<std::array<float, 2>, std::array<int, 2>>> by_name;
      for (const auto& n : native.nodes) {
        if (n.kind != op::resize_bilinear && n.kind != op::upsample) continue;
        const auto& x = native.values[n.in[0]].shape;
        std::array<float, 2> sc{0, 0};
        if (n.kind == op::resize_bilinear && n.a.ints.size() == 2)
          sc = {static_cast<float>(n.a.ints[0]) / static_cast<float>(x[1]),
                static_cast<float>(n.a.ints[1]) / static_cast<float>(x[2])};
        by_name[n.name] = {sc, n.a.stride};
      }
      for (auto& n : g.nodes) {
        auto it = by_name.find(n.name);
        if (it == by_name.end() || n.a.ints.size() != 2) continue;
        if (n.kind == op::resize_bilinear) n.a.scale = it->second.first;
        if (n.kind == op::upsample) { // the factors infer_shapes found at the native size
          n.a.stride = it->second.second;
          n.a.ints.clear();
        }
      }
    }
    for (int in : g.inputs) {
      auto& s = g.values[in].shape;
      if (s.size() != 4) throw model_error("input '" + g.values[in].name + "' is not an image");
      bool nchw = s[1] == 1 || s[1] == 3 || s[1] == 4;
      s[nchw ? 2 : 1] = height;
      s[nchw ? 3 : 2] = width;
    }
  }
  for (int in : g.inputs)
    if (!g.values[in].shape.empty()) {
      int64_t was = g.values[in].shape[0];
      g.values[in].shape[0] = batch;
      for (auto& n : g.nodes)
        if (n.kind == op::reshape && !n.a.ints.empty() && n.a.ints[0] == was) n.a.ints[0] = batch;
    }
  fold_shapes(g);
  infer_shapes(g);
  remove_layout_transposes(g);
  infer_shapes(g);
  fold_data_free_transposes(g);
  fold_padding(g);
  fold_batch_norm_and_bias(g);
  fuse_silu(g);
  fuse_activation(g);
  infer_shapes(g);
}

} // namespace weaver::engine
