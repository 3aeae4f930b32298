// Shape inference (accel/engine/passes) on what an imported file may say:
// every impossible shape is a model_error naming the node, never undefined
// arithmetic.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "accel/engine/executor.hpp"
#include "accel/engine/graph.hpp"
#include "accel/engine/passes.hpp"

using namespace weaver::engine;

namespace {

// input [1,4,4,3] -> reshape to `target`; the error, or "" when it infers.
std::string reshape_error(shape_t target) {
  graph g;
  value in;
  in.name = "x";
  in.shape = {1, 4, 4, 3};
  g.inputs.push_back(g.add_value(in));
  attrs a;
  a.ints = std::move(target);
  const int n = g.add_node(op::reshape, "r", {g.inputs[0]}, a);
  g.outputs.push_back(g.nodes[static_cast<size_t>(n)].out[0]);
  try {
    infer_shapes(g);
  } catch (const model_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("reshape: inferred, or refused naming the node") {
  CHECK(reshape_error({1, 48}) == "");
  CHECK(reshape_error({1, -1}) == "");
  CHECK(reshape_error({1, 47}).find("'r'") != std::string::npos);
  // Found by fuzz_onnx: the known dimensions' product overflowed int64
  // (undefined behaviour; UBSan), 52363265 * 43628621356597254.
  auto e = reshape_error({52363265, 43628621356597254, -1});
  CHECK(e.find("too many elements") != std::string::npos);
  CHECK(e.find("'r'") != std::string::npos);
  // Two unknowns cannot both be inferred.
  CHECK(reshape_error({-1, -1}).find("more than one unknown") != std::string::npos);
}

TEST_CASE("transpose: a perm that repeats an axis is refused, also on a constant (found by fuzz_onnx)") {
  // Before: shape inference took [0,0,1] for [2,3,4] as [2,2,3] (more
  // elements than the input) and constant folding read out of bounds.
  for (bool constant : {false, true}) {
    CAPTURE(constant);
    graph g;
    int x;
    if (constant) {
      tensor_data d;
      d.type = dtype::f32;
      d.shape = {2, 3, 4};
      d.f.assign(24, 1.f);
      x = g.add_const("c", d);
    } else {
      value in;
      in.name = "x";
      in.shape = {2, 3, 4};
      x = g.add_value(in);
      g.inputs.push_back(x);
    }
    attrs a;
    a.ints = {0, 0, 1};
    const int n = g.add_node(op::transpose, "t", {x}, a);
    g.outputs.push_back(g.nodes[static_cast<size_t>(n)].out[0]);
    std::string error;
    try {
      optimise(g);
    } catch (const model_error& e) {
      error = e.what();
    }
    CHECK(error.find("'t'") != std::string::npos);
  }
}

TEST_CASE(
  "cast of a constant to an integer: NaN, infinities and values beyond int64 are refused (found by fuzz_onnx)") {
  // Before: the float was cast to int64 whatever it held (undefined; UBSan).
  attrs a;
  a.axis = 7; // TensorProto INT64
  auto cast = [&](float v) {
    tensor_data d;
    d.type = dtype::f32;
    d.shape = {2};
    d.f = {2.9f, v};
    return eval_shape_op("Cast", d, nullptr, a);
  };
  auto ok = cast(-3.7f);
  CHECK(ok.type == dtype::i64);
  CHECK(ok.i == std::vector<int64_t>{2, -3}); // toward zero
  CHECK_THROWS_AS(cast(std::nanf("")), model_error);
  CHECK_THROWS_AS(cast(std::numeric_limits<float>::infinity()), model_error);
  CHECK_THROWS_AS(cast(-1e19f), model_error);
  CHECK(cast(-9.1e18f).i[1] < 0);
}

namespace {

// A constant of `elements` floats in shape `shape` reshaped to `target` by
// constant folding: the error, or "" with the folded shape in `out`.
std::string fold_reshape_error(shape_t shape, shape_t target, shape_t* out = nullptr, bool copy_zero_dims = false) {
  graph g;
  tensor_data d;
  d.shape = shape;
  d.f.assign(static_cast<size_t>(numel(shape)), 1.f);
  const int c = g.add_const("c", d);
  tensor_data t;
  t.type = dtype::i64;
  t.shape = {static_cast<int64_t>(target.size())};
  t.i = target;
  const int s = g.add_const("s", t);
  attrs a;
  a.copy_zero_dims = copy_zero_dims;
  const int n = g.add_node(op::reshape, "r", {c, s}, a);
  const int o = g.nodes[static_cast<size_t>(n)].out[0];
  g.outputs.push_back(o);
  try {
    fold_constants(g);
  } catch (const model_error& e) {
    return e.what();
  }
  if (out) *out = g.values[static_cast<size_t>(o)].shape;
  return "";
}

} // namespace

TEST_CASE("reshape of a constant: the same rules as shape inference") {
  shape_t out;
  CHECK(fold_reshape_error({2, 3}, {-1}, &out) == "");
  CHECK(out == shape_t{6});
  CHECK(fold_reshape_error({2, 3, 2}, {0, -1}, &out, true) == "");
  CHECK(out == shape_t{2, 6}); // 0 copies the input's dimension
  // Two unknowns: before, constant folding (unlike shape inference) took
  // the last -1 for the rest and left the first in the shape: an empty
  // constant folded to shape [-1,0], a negative dimension downstream.
  auto e = fold_reshape_error({0, 3}, {-1, -1});
  CHECK(e.find("more than one unknown") != std::string::npos);
  CHECK(e.find("'r'") != std::string::npos);
  CHECK(fold_reshape_error({2, 3}, {-1, -1}).find("more than one unknown") != std::string::npos);
  // Only -1 is unknown; other negatives are refused, in both passes.
  CHECK(fold_reshape_error({2, 3}, {-2, 3}).find("negative dimension") != std::string::npos);
  CHECK(reshape_error({-2, 24}).find("negative dimension") != std::string::npos);
  // A -1 beside a 0 has nothing to be inferred from (it became -1 * 0 = 0).
  CHECK(fold_reshape_error({0, 3}, {0, -1}).find("cannot be inferred") != std::string::npos);
  CHECK(fold_reshape_error({2, 3}, {4, 2}).find("cannot reshape [2,3] to [4,2]") != std::string::npos);
}

namespace {

// x [1,6,7,3] -> 1x1 conv to 4 channels -> Sigmoid -> Mul (conv out, sigmoid
// out in `order`) -> output; with `sigmoid_too` the sigmoid is an output too.
graph silu_graph(bool sigmoid_first, bool sigmoid_too) {
  graph g;
  value in;
  in.name = "x";
  in.shape = {1, 6, 7, 3};
  g.inputs.push_back(g.add_value(in));
  tensor_data w, b;
  w.shape = {1, 1, 3, 4};
  for (int i = 0; i < 12; ++i) w.f.push_back(0.5f * static_cast<float>(i % 5) - 1.0f);
  b.shape = {4};
  b.f = {0.25f, -0.5f, 1.0f, 0.0f};
  const int c = g.add_node(op::conv2d, "conv", {g.inputs[0], g.add_const("w", w), g.add_const("b", b)});
  const int y = g.nodes[static_cast<size_t>(c)].out[0];
  attrs sa;
  sa.activation = act::sigmoid;
  const int s = g.nodes[static_cast<size_t>(g.add_node(op::activation, "sig", {y}, sa))].out[0];
  const int m = g.add_node(op::mul, "silu", sigmoid_first ? std::vector<int>{s, y} : std::vector<int>{y, s});
  g.outputs.push_back(g.nodes[static_cast<size_t>(m)].out[0]);
  if (sigmoid_too) g.outputs.push_back(s);
  return g;
}

} // namespace

TEST_CASE("fuse_silu: Sigmoid times its own input becomes one silu, folded into the conv before it") {
  for (bool sigmoid_first : {false, true}) {
    auto g = silu_graph(sigmoid_first, false);
    optimise(g, 1, 0, 0);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].kind == op::conv2d);
    CHECK(g.nodes[0].a.activation == act::silu);
    // oneDNN's swish post-op computes what the unfused nodes define.
    auto m = model::adopt(g);
    session s(m);
    std::vector<float> x(6 * 7 * 3);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.37f * static_cast<float>(static_cast<int>(i % 11) - 5);
    std::copy(x.begin(), x.end(), s.input());
    s.run();
    const auto raw = silu_graph(sigmoid_first, false);
    const auto& w = raw.values[static_cast<size_t>(raw.find("w"))].data.f;
    const auto& b = raw.values[static_cast<size_t>(raw.find("b"))].data.f;
    double worst = 0;
    for (int p = 0; p < 42; ++p)
      for (int co = 0; co < 4; ++co) {
        double v = b[static_cast<size_t>(co)];
        for (int ci = 0; ci < 3; ++ci) v += x[static_cast<size_t>(p * 3 + ci)] * w[static_cast<size_t>(ci * 4 + co)];
        const double want = v / (1.0 + std::exp(-v));
        worst = std::max(worst, std::abs(s.output(0)[p * 4 + co] - want) / std::max(1.0, std::abs(want)));
      }
    CHECK(worst <= 1e-5);
  }
  SUBCASE("a sigmoid that is also read elsewhere stays") {
    auto g = silu_graph(false, true);
    optimise(g, 1, 0, 0);
    int sig = 0, mul = 0;
    for (const auto& n : g.nodes) {
      sig += n.kind == op::activation && n.a.activation == act::sigmoid;
      mul += n.kind == op::mul;
    }
    CHECK(sig == 1);
    CHECK(mul == 1);
  }
}

namespace {

// x [1,12,8] -> `steps` (a transpose by its perm, or a reshape to its shape)
// -> softmax over the last axis (which the layout pass does not move
// transposes across) -> output; also outputs the first step's result when
// `tap`.
struct step_spec {
  bool transpose;
  std::vector<int64_t> ints;
};

graph chain_graph(const std::vector<step_spec>& steps, bool tap = false) {
  graph g;
  value in;
  in.name = "x";
  in.shape = {1, 12, 8};
  g.inputs.push_back(g.add_value(in));
  int v = g.inputs[0];
  for (size_t i = 0; i < steps.size(); ++i) {
    attrs a;
    a.ints = steps[i].ints;
    const auto k = g.add_node(steps[i].transpose ? op::transpose : op::reshape, "s" + std::to_string(i), {v}, a);
    v = g.nodes[static_cast<size_t>(k)].out[0];
    if (tap && i == 0) g.outputs.push_back(v);
  }
  g.outputs.insert(g.outputs.begin(), g.nodes[static_cast<size_t>(g.add_node(op::softmax, "sm", {v}))].out[0]);
  return g;
}

int transposes(const graph& g) {
  return static_cast<int>(
    std::count_if(g.nodes.begin(), g.nodes.end(), [](const node& n) { return n.kind == op::transpose; }));
}

// Softmax of x moved as the steps say, element by element (the reference).
std::vector<float> reference(const std::vector<step_spec>& steps, const std::vector<float>& x) {
  shape_t s{1, 12, 8};
  std::vector<float> v = x;
  for (const auto& st : steps) {
    if (!st.transpose) {
      s = st.ints;
      continue;
    }
    shape_t os;
    for (auto p : st.ints) os.push_back(s[static_cast<size_t>(p)]);
    std::vector<int64_t> ist(s.size(), 1);
    for (int d = static_cast<int>(s.size()) - 2; d >= 0; --d) ist[d] = ist[d + 1] * s[d + 1];
    std::vector<float> o(v.size());
    std::vector<int64_t> idx(os.size(), 0);
    for (size_t i = 0; i < o.size(); ++i) {
      int64_t src = 0;
      for (size_t j = 0; j < os.size(); ++j) src += idx[j] * ist[static_cast<size_t>(st.ints[j])];
      o[i] = v[static_cast<size_t>(src)];
      for (int j = static_cast<int>(os.size()) - 1; j >= 0 && ++idx[j] == os[j]; --j) idx[j] = 0;
    }
    v = std::move(o);
    s = os;
  }
  const auto inner = static_cast<size_t>(s.back());
  for (size_t r = 0; r < v.size(); r += inner) {
    double sum = 0;
    for (size_t i = 0; i < inner; ++i) sum += std::exp(double(v[r + i]));
    for (size_t i = 0; i < inner; ++i) v[r + i] = static_cast<float>(std::exp(double(v[r + i])) / sum);
  }
  return v;
}

void check_runs(const graph& g, const std::vector<step_spec>& steps) {
  session s(model::adopt(g));
  std::vector<float> x(96);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(i) - 0.4f;
  std::copy(x.begin(), x.end(), s.input());
  s.run();
  const auto want = reference(steps, x);
  for (size_t i = 0; i < want.size(); ++i) CHECK(s.output(0)[i] == doctest::Approx(want[i]).epsilon(1e-5));
}

} // namespace

TEST_CASE("fold_data_free_transposes: a chain that leaves every element in place becomes one reshape") {
  // YOLOv8's DFL head: [1,12,8] -> [1,8,12] -> [1,2,4,12] -> [1,12,2,4].
  const std::vector<step_spec> dfl{{true, {0, 2, 1}}, {false, {1, 2, 4, 12}}, {true, {0, 3, 1, 2}}};
  auto g = chain_graph(dfl);
  optimise(g, 1, 0, 0);
  CHECK(transposes(g) == 0);
  CHECK(g.values[static_cast<size_t>(g.outputs[0])].shape == shape_t{1, 12, 2, 4});
  check_runs(g, dfl);
  // Only axes of size 1 move: [1,12,8] -> [12,1,8] -> [12,8] -> [1,12,8,1]... as transposes.
  const std::vector<step_spec> unit{{true, {1, 0, 2}}, {false, {12, 8, 1}}, {true, {2, 0, 1}}};
  auto u = chain_graph(unit);
  optimise(u, 1, 0, 0);
  CHECK(transposes(u) == 0);
  check_runs(u, unit);
}

TEST_CASE("fold_data_free_transposes: chains that move data, or whose middle is read elsewhere, stay") {
  // [1,12,8] -> [1,8,12] -> [1,2,4,12] -> [1,2,12,4]: elements move.
  const std::vector<step_spec> moving{{true, {0, 2, 1}}, {false, {1, 2, 4, 12}}, {true, {0, 1, 3, 2}}};
  auto g = chain_graph(moving);
  optimise(g, 1, 0, 0);
  CHECK(transposes(g) >= 1);
  check_runs(g, moving);
  // A split that does not line up with the transposed axes: [1,8,12] -> [1,6,16].
  const std::vector<step_spec> odd{{true, {0, 2, 1}}, {false, {1, 6, 16}}, {true, {0, 2, 1}}};
  auto o = chain_graph(odd);
  optimise(o, 1, 0, 0);
  CHECK(transposes(o) >= 1);
  check_runs(o, odd);
  // The DFL chain, but its first transpose's result is an output too (the
  // pass alone: optimise's layout pass would give the output its own copy).
  const std::vector<step_spec> dfl{{true, {0, 2, 1}}, {false, {1, 2, 4, 12}}, {true, {0, 3, 1, 2}}};
  auto t = chain_graph(dfl, true);
  infer_shapes(t);
  fold_data_free_transposes(t);
  CHECK(transposes(t) == 2);
  check_runs(t, dfl);
}

TEST_CASE("constant folding: a transpose takes its constant's storage only when it is the constant's one reader") {
  // c [2,3,4] read by t1 alone; d [2,3,4] read by t2 and t3; e read by t4
  // and also a graph output. Every folded result is the index definition;
  // d and e keep their values.
  graph g;
  auto constant = [&](const char* name, float base) {
    tensor_data d;
    d.shape = {2, 3, 4};
    for (int i = 0; i < 24; ++i) d.f.push_back(base + static_cast<float>(i));
    return g.add_const(name, d);
  };
  const int c = constant("c", 0.f), d = constant("d", 100.f), e = constant("e", 200.f);
  auto transpose = [&](const char* name, int v, std::vector<int64_t> perm) {
    attrs a;
    a.ints = std::move(perm);
    const int out = g.nodes[static_cast<size_t>(g.add_node(op::transpose, name, {v}, a))].out[0];
    g.outputs.push_back(out);
    return out;
  };
  const int t1 = transpose("t1", c, {2, 0, 1});
  const int t2 = transpose("t2", d, {1, 2, 0});
  const int t3 = transpose("t3", d, {2, 1, 0});
  const int t4 = transpose("t4", e, {0, 2, 1});
  g.outputs.push_back(e);
  fold_constants(g);
  auto want = [](float base, const std::vector<int64_t>& perm) {
    const int64_t in_st[3] = {12, 4, 1}, dims[3] = {2, 3, 4};
    std::vector<float> r;
    for (int64_t i = 0; i < dims[perm[0]]; ++i)
      for (int64_t j = 0; j < dims[perm[1]]; ++j)
        for (int64_t k = 0; k < dims[perm[2]]; ++k)
          r.push_back(base + static_cast<float>(i * in_st[perm[0]] + j * in_st[perm[1]] + k * in_st[perm[2]]));
    return r;
  };
  auto data = [&](int v) {
    REQUIRE(g.values[static_cast<size_t>(v)].is_const);
    return g.values[static_cast<size_t>(v)].data.f;
  };
  CHECK(data(t1) == want(0.f, {2, 0, 1}));
  CHECK(g.values[static_cast<size_t>(t1)].shape == shape_t{4, 2, 3});
  CHECK(data(t2) == want(100.f, {1, 2, 0}));
  CHECK(data(t3) == want(100.f, {2, 1, 0}));
  CHECK(data(t4) == want(200.f, {0, 2, 1}));
  CHECK(data(d) == want(100.f, {0, 1, 2}));
  CHECK(data(e) == want(200.f, {0, 1, 2}));
  // c gave its storage away: an empty constant, consistent with its shape.
  CHECK(g.values[static_cast<size_t>(c)].data.f.empty());
  CHECK(numel(g.values[static_cast<size_t>(c)].shape) == 0);
}
