// The executor's buffers (accel/engine/executor): values whose lifetimes do
// not overlap share one, what the caller reads afterwards keeps its own, and
// no kernel's output lands on a value that is still to be read.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "accel/engine/executor.hpp"
#include "accel/engine/graph.hpp"
#include "accel/engine/passes.hpp"

using namespace weaver::engine;

namespace {

// x [1,8,8,4] -> a = relu(x) -> b = sigmoid(a) -> c = sigmoid(b) ->
// d = c + a (a lives across b and c) -> r = reshape(d) [1,256] -> e = exp(r);
// output e.
graph chain() {
  graph g;
  value in;
  in.name = "x";
  in.shape = {1, 8, 8, 4};
  g.inputs.push_back(g.add_value(in));
  auto act_node = [&](const char* name, int v, act k) {
    attrs a;
    a.activation = k;
    return g.nodes[static_cast<size_t>(g.add_node(op::activation, name, {v}, a))].out[0];
  };
  const int a = act_node("a", g.inputs[0], act::relu);
  const int b = act_node("b", a, act::sigmoid);
  const int c = act_node("c", b, act::sigmoid);
  const int d = g.nodes[static_cast<size_t>(g.add_node(op::add, "d", {c, a}))].out[0];
  attrs ra;
  ra.ints = {1, 256};
  const int r = g.nodes[static_cast<size_t>(g.add_node(op::reshape, "r", {d}, ra))].out[0];
  g.outputs.push_back(act_node("e", r, act::exp));
  optimise(g, 1, 0, 0);
  return g;
}

std::vector<float> run(session& s) {
  for (int i = 0; i < 256; ++i) s.input()[i] = 0.05f * static_cast<float>(i % 37) - 0.9f;
  s.run();
  return std::vector<float>(s.output(0), s.output(0) + 256);
}

} // namespace

TEST_CASE("shared buffers: the same outputs as one buffer per value, in less memory") {
  auto m = model::adopt(chain());
  session all(m);
  const auto want = run(all);
  // e = exp(sigmoid(sigmoid(relu(x))) + relu(x)), computed here.
  for (int i = 0; i < 256; ++i) {
    const double x = 0.05f * static_cast<float>(i % 37) - 0.9f, a = x > 0 ? x : 0;
    const double c = 1 / (1 + std::exp(-1 / (1 + std::exp(-a))));
    CHECK(want[static_cast<size_t>(i)] == doctest::Approx(std::exp(c + a)).epsilon(1e-5));
  }
  const std::vector<std::string> none;
  for (int threads : {1, 2}) {
    session shared(m, threads, &none);
    CHECK(run(shared) == want);
    CHECK(run(shared) == want); // buffers hold the last run's numbers
    CHECK(shared.buffer_floats() < all.buffer_floats());
    // Shared values are not readable afterwards; the input and output are.
    CHECK(shared.value("b") == nullptr);
    CHECK(shared.value("a") == nullptr);
    CHECK(shared.value("x") != nullptr);
    CHECK(shared.value("e") != nullptr);
  }
  CHECK(all.value("b") != nullptr);
}

TEST_CASE("shared buffers: a value named in keep (or :0) stays readable") {
  auto m = model::adopt(chain());
  session all(m);
  run(all);
  const std::vector<std::string> keep{"a:0", "c"};
  session s(m, 1, &keep);
  run(s);
  for (const char* name : {"a", "c"}) {
    CAPTURE(name);
    shape_t sh;
    const float* got = s.value(name, &sh);
    REQUIRE(got != nullptr);
    CHECK(std::vector<float>(got, got + 256) == std::vector<float>(all.value(name), all.value(name) + 256));
  }
  CHECK(s.value("b") == nullptr);
}
