// The executor's buffers (accel/engine/executor): values whose lifetimes do
// not overlap share one, what the caller reads afterwards keeps its own, and
// no kernel's output lands on a value that is still to be read; convs
// built on several threads each land in their own step.
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

namespace {

// x [1,12,12,3] -> 3x3 conv 3->8 (pad 1, relu) -> 1x1 conv 8->5 -> 3x3
// conv 5->7 (stride 2, pad 1): three convs of different shapes, so a conv
// built into another's place gives other numbers (or is refused).
struct conv_layer {
  int k, ci, co, stride;
  act activation;
};
const conv_layer conv_layers[] = {{3, 3, 8, 1, act::relu}, {1, 8, 5, 1, act::none}, {3, 5, 7, 2, act::none}};

float weight(int layer, int i) { return 0.01f * static_cast<float>((i * 37 + layer * 11) % 23) - 0.1f; }

graph conv_chain() {
  graph g;
  value in;
  in.name = "x";
  in.shape = {1, 12, 12, 3};
  int v = g.add_value(in);
  g.inputs.push_back(v);
  int layer = 0;
  for (const auto& l : conv_layers) {
    tensor_data w, b;
    w.shape = {l.k, l.k, l.ci, l.co}; // HWIO
    for (int i = 0; i < l.k * l.k * l.ci * l.co; ++i) w.f.push_back(weight(layer, i));
    b.shape = {l.co};
    for (int c = 0; c < l.co; ++c) b.f.push_back(0.05f * static_cast<float>(c) - 0.1f);
    attrs a;
    a.kernel = {l.k, l.k};
    a.stride = {l.stride, l.stride};
    const int p = l.k / 2;
    a.pads = {p, p, p, p};
    a.activation = l.activation;
    const std::string name = "conv" + std::to_string(layer);
    const int wv = g.add_const(name + "/w", std::move(w)), bv = g.add_const(name + "/b", std::move(b));
    v = g.nodes[static_cast<size_t>(g.add_node(op::conv2d, name, {v, wv, bv}, a))].out[0];
    ++layer;
  }
  g.outputs.push_back(v);
  optimise(g, 1, 0, 0);
  return g;
}

// The same chain by the definition, in double.
std::vector<double> conv_chain_reference(const std::vector<float>& x) {
  std::vector<double> cur(x.begin(), x.end());
  int64_t h = 12, w = 12;
  int layer = 0;
  for (const auto& l : conv_layers) {
    const int p = l.k / 2;
    const int64_t ho = (h + 2 * p - l.k) / l.stride + 1, wo = (w + 2 * p - l.k) / l.stride + 1;
    std::vector<double> out(static_cast<size_t>(ho * wo * l.co));
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox)
        for (int co = 0; co < l.co; ++co) {
          double s = 0.05 * co - 0.1;
          for (int ky = 0; ky < l.k; ++ky)
            for (int kx = 0; kx < l.k; ++kx) {
              const int64_t y = oy * l.stride - p + ky, xx = ox * l.stride - p + kx;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              for (int ci = 0; ci < l.ci; ++ci)
                s += cur[static_cast<size_t>((y * w + xx) * l.ci + ci)]
                  * weight(layer, ((ky * l.k + kx) * l.ci + ci) * l.co + co);
            }
          if (l.activation == act::relu) s = s > 0 ? s : 0;
          out[static_cast<size_t>((oy * wo + ox) * l.co + co)] = s;
        }
    cur = std::move(out);
    h = ho;
    w = wo;
    ++layer;
  }
  return cur;
}

} // namespace

TEST_CASE("convs built on the session's threads: each in its own place, on 1, 2 and 3 threads") {
  auto m = model::adopt(conv_chain());
  std::vector<float> x(12 * 12 * 3);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>((i * 7) % 19) - 0.9f;
  const auto want = conv_chain_reference(x);
  REQUIRE(want.size() == 6 * 6 * 7);
  const std::vector<std::string> none;
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    session s(m, threads, &none);
    std::copy(x.begin(), x.end(), s.input());
    s.run();
    REQUIRE(s.output_shape(0) == shape_t{1, 6, 6, 7});
    for (size_t i = 0; i < want.size(); ++i) CHECK(s.output(0)[i] == doctest::Approx(want[i]).epsilon(1e-4));
  }
}
