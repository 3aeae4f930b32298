// Shape inference (accel/engine/passes) on what an imported file may say:
// every impossible shape is a model_error naming the node, never undefined
// arithmetic.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

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
