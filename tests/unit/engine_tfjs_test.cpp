// The TF.js importer and the engine against TensorFlow.js itself: the same
// NanoDet files and input tensor run by @tensorflow/tfjs's pure-JavaScript
// CPU backend under node (tools/tfjs_reference) must give the same outputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "accel/engine/executor.hpp"
#include "accel/engine/tfjs_import.hpp"
#include "tests/unit/engine_util.hpp"

using namespace weaver::engine;
namespace fs = std::filesystem;

namespace {

const std::string nanodet = std::string(WEAVER_SOURCE_DIR) + "/tools/data/models/nanodet.json";

} // namespace

TEST_CASE("half_to_float decodes normals, subnormals, zero, inf and NaN") {
  CHECK(half_to_float(0x3c00) == 1.0f);
  CHECK(half_to_float(0xc000) == -2.0f);
  CHECK(half_to_float(0x7bff) == 65504.0f);
  CHECK(half_to_float(0x0001) == doctest::Approx(5.960464477539063e-8).epsilon(1e-6));
  CHECK(half_to_float(0x0000) == 0.0f);
  CHECK(std::signbit(half_to_float(0x8000)));
  CHECK(std::isinf(half_to_float(0x7c00)));
  CHECK(std::isnan(half_to_float(0x7e00)));
  CHECK(half_to_float(0x3555) == doctest::Approx(0.333251953125f));
}

TEST_CASE("NanoDet imports; passes leave no layout transposes and fold pads and biases") {
  auto raw = import_tfjs(nanodet);
  int transposes = 0, pads = 0;
  for (const auto& n : raw.nodes) {
    transposes += n.kind == op::transpose;
    pads += n.kind == op::pad;
  }
  CHECK(transposes > 50); // ONNX-to-TF conversion wraps every conv in transposes
  CHECK(pads > 20);
  auto m = model::compile(raw);
  CHECK(m->input_shape() == shape_t{1, 416, 416, 3}); // stored NHWC
  int convs = 0;
  for (const auto& n : m->ir().nodes) {
    CHECK(n.kind != op::transpose);
    CHECK(n.kind != op::pad);
    CHECK(n.kind != op::sparse_to_dense);
    if (n.kind == op::conv2d) {
      ++convs;
      CHECK(n.in.size() == 3); // bias folded in
    }
  }
  CHECK(convs == 34);
  session s(m);
  REQUIRE(s.outputs() == 6);
  CHECK(s.output_shape(s.find_output("Identity")) == shape_t{1, 2704, 80});
  CHECK(s.output_shape(s.find_output("Identity_5:0")) == shape_t{1, 169, 44});
}

TEST_CASE("NanoDet outputs match TensorFlow.js's CPU backend on the same input") {
  REQUIRE_MESSAGE(fs::exists(nanodet), "run tools/setup.sh to fetch the NanoDet model");
  auto dir = test_dir("tfjs");
  // Input in the model's own layout, NCHW, values like a normalised image.
  const int C = 3, H = 416, W = 416;
  std::vector<float> nchw(static_cast<size_t>(C * H * W));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  for (auto& v : nchw) v = u(rng);
  write_f32(dir / "in.f32", nchw);
  std::string cmd = "node " + std::string(WEAVER_SOURCE_DIR) + "/tools/tfjs_reference/run.mjs --model " + nanodet
    + " --input " + (dir / "in.f32").string() + " --shape 1,3,416,416 --out " + (dir / "out").string() + " 2>"
    + (dir / "err.txt").string();
  int rc = std::system(cmd.c_str());
  REQUIRE_MESSAGE(rc == 0, "tfjs reference failed: " << read_text(dir / "err.txt"));

  session s(model::load(nanodet));
  float* in = s.input();
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c) in[(y * W + x) * C + c] = nchw[static_cast<size_t>((c * H + y) * W + x)];
  s.run();

  auto outs = nlohmann::json::parse(read_text(dir / "out" / "outputs.json"));
  REQUIRE(outs.size() == 6);
  for (const auto& o : outs) {
    int k = s.find_output(o["name"].get<std::string>());
    REQUIRE_MESSAGE(k >= 0, "no output " << o["name"]);
    auto ref = read_f32(dir / "out" / o["file"].get<std::string>());
    REQUIRE(static_cast<int64_t>(ref.size()) == numel(s.output_shape(static_cast<size_t>(k))));
    auto e = compare(s.output(static_cast<size_t>(k)), ref);
    MESSAGE(o["name"].get<std::string>() << ": max abs error " << e.max_abs << ", max rel error " << e.max_rel
                                         << " (max |ref| " << e.max_ref << ")");
    // Measured: <= 3.4e-6 absolute on outputs up to 4.5 (float32 summation order).
    CHECK(e.nonfinite == 0);
    CHECK(e.max_abs < 1e-4);
  }
  fs::remove_all(dir);
}

TEST_CASE("TF.js import errors name the problem and never crash") {
  auto dir = test_dir("tfjs-bad");
  auto model = nlohmann::json::parse(read_text(nanodet));
  auto bin = fs::path(nanodet).replace_extension(".bin");

  SUBCASE("unsupported op names the op and the node") {
    for (auto& n : model["modelTopology"]["node"])
      if (n["name"] == "PartitionedCall/onnx_tf_prefix_Sigmoid_154") n["op"] = "Erf";
    std::ofstream(dir / "m.json") << model.dump();
    fs::copy_file(bin, dir / "nanodet.bin");
    CHECK_THROWS_WITH_AS(import_tfjs((dir / "m.json").string()),
                         "unsupported op 'Erf' at node 'PartitionedCall/onnx_tf_prefix_Sigmoid_154'", model_error);
  }
  SUBCASE("truncated weights") {
    std::ofstream(dir / "m.json") << model.dump();
    auto bytes = read_text(bin);
    std::ofstream(dir / "nanodet.bin", std::ios::binary).write(bytes.data(), 1000000);
    CHECK_THROWS_AS(import_tfjs((dir / "m.json").string()), model_error);
    try {
      import_tfjs((dir / "m.json").string());
    } catch (const model_error& e) {
      CHECK(std::string(e.what()).find("weights truncated") != std::string::npos);
    }
  }
  SUBCASE("missing shard") {
    std::ofstream(dir / "m.json") << model.dump();
    CHECK_THROWS_AS(import_tfjs((dir / "m.json").string()), model_error);
  }
  SUBCASE("a filter of the wrong shape fails shape inference, naming the node") {
    // Swap two weights' declared shapes of equal size so the bytes still fit.
    for (auto& w : model["weightsManifest"][0]["weights"])
      if (w["name"] == "PartitionedCall/split_1") w["shape"] = {3, 3, 16, 64}; // was [3,3,32,32]: same bytes
    std::ofstream(dir / "m.json") << model.dump();
    fs::copy_file(bin, dir / "nanodet.bin");
    auto g = import_tfjs((dir / "m.json").string());
    try {
      model::compile(g);
      FAIL("compile accepted a filter of the wrong shape");
    } catch (const model_error& e) {
      CHECK(std::string(e.what()).find("PartitionedCall/convolution_1") != std::string::npos);
    }
  }
  SUBCASE("a string attribute that is not base64 names the node and the attribute") {
    // Before base/base64 was shared, this decoder stopped at the first foreign
    // character and read "SAME" from "U0FNRQ!!" without a word.
    std::string node;
    for (auto& n : model["modelTopology"]["node"])
      if (node.empty() && n.contains("attr") && n["attr"].contains("padding")) {
        n["attr"]["padding"]["s"] = "U0FNRQ!!";
        node = n["name"].get<std::string>();
      }
    REQUIRE(!node.empty());
    std::ofstream(dir / "m.json") << model.dump();
    fs::copy_file(bin, dir / "nanodet.bin");
    CHECK_THROWS_WITH_AS(import_tfjs((dir / "m.json").string()),
                         ("node '" + node + "': attribute padding is not base64").c_str(), model_error);
  }
  SUBCASE("not a model") {
    std::ofstream(dir / "m.json") << "{\"format\": \"layers-model\"}";
    CHECK_THROWS_AS(import_tfjs((dir / "m.json").string()), model_error);
    std::ofstream(dir / "m.json") << "not json";
    CHECK_THROWS_AS(import_tfjs((dir / "m.json").string()), model_error);
  }
  fs::remove_all(dir);
}
