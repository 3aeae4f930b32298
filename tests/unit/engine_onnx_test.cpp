// The ONNX importer and the engine against ONNX Runtime (onnxruntime-node,
// CPU; tools/onnx_reference): small graphs built with python3-onnx
// (tests/reference/onnx_cases.py), one per supported operator and attribute
// case, run by both on the same input; every output must agree. The bad
// files each fail with an error that names the problem.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "accel/engine/executor.hpp"
#include "accel/engine/onnx_export.hpp"
#include "accel/engine/onnx_import.hpp"
#include "onnx.pb.h"
#include "tests/unit/engine_util.hpp"

using namespace weaver::engine;
namespace fs = std::filesystem;

namespace {

/// The generated cases, made once per test process (removed at its exit).
/// Debian's python3 (it carries python3-onnx), not whichever python3 comes
/// first on PATH.
struct generated_cases {
  fs::path dir = test_dir("onnx-cases");
  generated_cases() {
    std::string cmd = "/usr/bin/python3 " + std::string(WEAVER_SOURCE_DIR) + "/tests/reference/onnx_cases.py "
      + dir.string() + " 2>" + (dir / "err.txt").string();
    if (std::system(cmd.c_str()) != 0) FAIL("onnx_cases.py failed: " << read_text(dir / "err.txt"));
  }
  ~generated_cases() { fs::remove_all(dir); }
};

const fs::path& cases_dir() {
  static const generated_cases cases;
  return cases.dir;
}

nlohmann::json cases() { return nlohmann::json::parse(read_text(cases_dir() / "cases.json")); }

/// Copies a logical NCHW tensor into the compiled model's input, which is
/// stored NCHW or NHWC (see remove_layout_transposes).
void fill_input(session& s, const shape_t& nchw, const std::vector<float>& x) {
  const auto& st = s.compiled().input_shape();
  float* in = s.input();
  if (st == nchw) {
    std::copy(x.begin(), x.end(), in);
    return;
  }
  const int64_t N = nchw[0], C = nchw[1], H = nchw[2], W = nchw[3];
  REQUIRE(st == shape_t{N, H, W, C});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t q = 0; q < W; ++q) in[((n * H + y) * W + q) * C + c] = x[((n * C + c) * H + y) * W + q];
}

std::string import_error(const std::string& file) {
  try {
    auto m = model::load((cases_dir() / file).string());
    session s(m);
    s.run();
  } catch (const model_error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("every operator case matches ONNX Runtime on the same input") {
  int ran = 0;
  for (const auto& c : cases()) {
    if (c["kind"] != "case") continue;
    const std::string name = c["name"];
    CAPTURE(name);
    shape_t shape = c["shape"].get<shape_t>();
    std::vector<float> x(static_cast<size_t>(numel(shape)));
    std::mt19937 rng(static_cast<unsigned>(ran) + 1);
    std::uniform_real_distribution<float> u(-2.f, 2.f);
    for (auto& v : x) v = u(rng);
    auto dir = cases_dir() / ("run-" + name);
    fs::create_directories(dir);
    write_f32(dir / "in.f32", x);
    std::string dims;
    for (auto d : shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
    std::string cmd = "node " + std::string(WEAVER_SOURCE_DIR) + "/tools/onnx_reference/run.mjs --model "
      + (cases_dir() / c["file"].get<std::string>()).string() + " --input " + (dir / "in.f32").string() + " --shape "
      + dims + " --out " + (dir / "out").string() + " 2>" + (dir / "err.txt").string();
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << read_text(dir / "err.txt"));

    // Symbolic batch and size: set when compiling, as a detector does.
    auto m = c["dynamic"].get<bool>()
      ? model::load((cases_dir() / c["file"].get<std::string>()).string(), "", static_cast<int>(shape[0]),
                    static_cast<int>(shape[2]), static_cast<int>(shape[3]))
      : model::load((cases_dir() / c["file"].get<std::string>()).string());
    auto ref = nlohmann::json::parse(read_text(dir / "out" / "outputs.json"));
    // Every value in its own buffer on one thread, and as detectors run it:
    // buffers shared by lifetime (each holding an earlier value's numbers
    // when a kernel writes it) on two threads, run twice.
    const std::vector<std::string> outputs_only;
    for (const bool shared : {false, true}) {
      CAPTURE(shared);
      session s(m, shared ? 2 : 1, shared ? &outputs_only : nullptr);
      for (int rep = 0; rep < (shared ? 2 : 1); ++rep) {
        fill_input(s, shape, x);
        s.run();
      }
      REQUIRE(ref["outputs"].size() == s.outputs());
      for (const auto& o : ref["outputs"]) {
        int k = s.find_output(o["name"].get<std::string>());
        REQUIRE_MESSAGE(k >= 0, "no output " << o["name"]);
        CHECK(s.output_shape(static_cast<size_t>(k)) == o["shape"].get<shape_t>());
        auto want = read_f32(dir / "out" / o["file"].get<std::string>());
        REQUIRE(static_cast<int64_t>(want.size()) == numel(s.output_shape(static_cast<size_t>(k))));
        // Relative to the value, but never to less than 1 (sums near zero
        // carry float32's absolute rounding, not a relative one).
        const float* got = s.output(static_cast<size_t>(k));
        double worst = 0;
        for (size_t i = 0; i < want.size(); ++i)
          worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / std::max(1.0, std::fabs(double(want[i]))));
        MESSAGE(name << " " << o["name"].get<std::string>() << std::string(shared ? " (shared buffers)" : "")
                     << ": max error " << worst);
        CHECK(std::isfinite(worst));
        CHECK(worst <= 1e-4);
      }
    }
    ++ran;
  }
  CHECK(ran >= 46);
}

TEST_CASE("ONNX import errors name the problem and never crash") {
  SUBCASE("unknown op names the op and the node") {
    CHECK(import_error("bad_unknown_op.onnx") == "unsupported op 'Erf' at node 'the_erf'");
  }
  SUBCASE("wrong opset") {
    CHECK(import_error("bad_opset.onnx").find("opset 9 is not supported (ONNX opsets 11 to 19)") != std::string::npos);
    CHECK(import_error("bad_opset.onnx").find("Upsample") == std::string::npos);
  }
  SUBCASE("Upsample (opsets before 11): re-export with Resize") {
    CHECK(import_error("bad_upsample_opset9.onnx")
            .find("opset 9 is not supported (ONNX opsets 11 to 19); its Upsample nodes are Resize from opset 11")
          != std::string::npos);
    CHECK(import_error("bad_upsample_opset11.onnx")
          == "node 'up_deprecated' (Upsample): Upsample is deprecated since opset 10: export with Resize (opset 11 "
             "or later)");
  }
  SUBCASE("shape mismatch names the node") {
    CHECK(import_error("bad_shape_mismatch.onnx")
          == "node 'add_mismatch' (Add): shapes [1,3,8,8] and [5] do not broadcast");
  }
  SUBCASE("conv weights for other channels") {
    CHECK(import_error("bad_conv_channels.onnx").find("node 'conv_mismatch' (Conv): input has 3 channels")
          != std::string::npos);
  }
  SUBCASE("missing external data file") {
    auto e = import_error("bad_missing_external.onnx");
    CHECK(e.find("initializer 'w' external data: cannot open") != std::string::npos);
  }
  SUBCASE("truncated file, at every tenth of its length") {
    auto bytes = read_text(cases_dir() / "opset17_nanodet_like.onnx");
    auto dir = cases_dir() / "truncated";
    fs::create_directories(dir);
    int refused = 0;
    for (int k = 0; k < 10; ++k) {
      std::ofstream(dir / "t.onnx", std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() * k / 10));
      try {
        session s(model::load((dir / "t.onnx").string()));
      } catch (const model_error& e) {
        ++refused;
        MESSAGE(k << "/10: " << std::string(e.what()));
      }
    }
    CHECK(refused == 10);
  }
  SUBCASE("shape arithmetic on pixel values (not shapes) names the node") {
    CHECK(import_error("bad_gather_of_data.onnx")
          == "node 'gather_pixels' (Gather): needs the values of a computed tensor, not only its shape (dynamic shapes "
             "are not supported)");
  }
  SUBCASE("a slice step of 0") {
    CHECK(import_error("bad_slice_step_zero.onnx") == "node 'slice_zero_step' (Slice): a step of 0");
  }
  SUBCASE("nearest resize to sizes that are not integer multiples") {
    CHECK(import_error("bad_resize_sizes_not_integer.onnx")
            .find("node 'up_by_1_5' (Resize): nearest resize of [1,8,8,3] to 12x12 is not by integer factors")
          != std::string::npos);
  }
  SUBCASE("a node without its input (found by fuzz_onnx)") {
    CHECK(import_error("bad_pool_no_input.onnx") == "node 'pool_nothing' (MaxPool): needs an input");
  }
  SUBCASE("a nearest scale too large for the engine (found by fuzz_onnx)") {
    CHECK(import_error("bad_resize_scale_huge.onnx")
          == "node 'up_huge' (Resize): nearest needs integer scale factors from 1 to 1024");
  }
  SUBCASE("a resize target computed to a fraction (nearest), or from pixel values") {
    CHECK(import_error("bad_resize_computed_fraction.onnx")
          == "node 'up_computed_1_5' (Resize): nearest needs integer scale factors from 1 to 1024");
    CHECK(import_error("bad_resize_sizes_from_pixels.onnx")
          == "node 'pixel_to_int' (Cast): needs the values of a computed tensor, not only its shape (dynamic shapes "
             "are not supported)");
  }
  SUBCASE("not a file") { CHECK(import_error("no_such.onnx").find("cannot open") != std::string::npos); }
}

TEST_CASE("compiled ONNX graphs keep no layout transposes around convs and fold batch norm") {
  auto m = model::load((cases_dir() / "opset17_nanodet_like.onnx").string());
  int convs = 0, transposes = 0, muls = 0;
  for (const auto& n : m->ir().nodes) {
    convs += n.kind == op::conv2d;
    transposes += n.kind == op::transpose;
    muls += n.kind == op::mul;
  }
  CHECK(convs == 3);
  CHECK(muls == 0); // the batch norm is in the depthwise conv's filter and bias
  CHECK(transposes <= 1); // the head's [0,2,1] (the NHWC storage makes it a plain reshape, or one real transpose)
  CHECK(m->input_shape() == shape_t{1, 16, 20, 3});
}

TEST_CASE("NanoDet exported as ONNX: ONNX Runtime and the re-imported file match the TF.js model") {
  const std::string nanodet = std::string(WEAVER_SOURCE_DIR) + "/tools/data/models/nanodet.json";
  REQUIRE_MESSAGE(fs::exists(nanodet), "run tools/setup.sh to fetch the NanoDet model");
  auto dir = test_dir("onnx-nanodet");
  auto tfjs = model::load(nanodet);
  export_onnx(tfjs->ir(), (dir / "nanodet.onnx").string());

  session s(tfjs);
  const auto in_shape = tfjs->input_shape(); // NHWC, as exported
  std::vector<float> x(static_cast<size_t>(numel(in_shape)));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  for (auto& v : x) v = u(rng);
  std::copy(x.begin(), x.end(), s.input());
  s.run();

  write_f32(dir / "in.f32", x);
  std::string cmd = "node " + std::string(WEAVER_SOURCE_DIR) + "/tools/onnx_reference/run.mjs --model "
    + (dir / "nanodet.onnx").string() + " --input " + (dir / "in.f32").string() + " --shape 1,416,416,3 --out "
    + (dir / "out").string() + " 2>" + (dir / "err.txt").string();
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << read_text(dir / "err.txt"));

  session back(model::load((dir / "nanodet.onnx").string()));
  REQUIRE(back.compiled().input_shape() == in_shape);
  std::copy(x.begin(), x.end(), back.input());
  back.run();

  auto ref = nlohmann::json::parse(read_text(dir / "out" / "outputs.json"));
  REQUIRE(ref["outputs"].size() == 6);
  for (const auto& o : ref["outputs"]) {
    const std::string name = o["name"];
    int k = s.find_output(name), kb = back.find_output(name);
    REQUIRE_MESSAGE(k >= 0, "no output " << name);
    REQUIRE_MESSAGE(kb >= 0, "re-imported model has no output " << name);
    auto want = read_f32(dir / "out" / o["file"].get<std::string>());
    REQUIRE(static_cast<int64_t>(want.size()) == numel(s.output_shape(static_cast<size_t>(k))));
    REQUIRE(back.output_shape(static_cast<size_t>(kb)) == s.output_shape(static_cast<size_t>(k)));
    auto e = compare(s.output(static_cast<size_t>(k)), want);
    auto eb = compare(back.output(static_cast<size_t>(kb)), want);
    MESSAGE(name << ": TF.js import vs ORT max abs " << e.max_abs << ", re-imported ONNX vs ORT max abs " << eb.max_abs
                 << " (max |ref| " << e.max_ref << ")");
    CHECK(e.nonfinite == 0);
    CHECK(eb.nonfinite == 0);
    CHECK(e.max_abs <= 1e-4 * std::max(1.0, e.max_ref));
    CHECK(eb.max_abs <= 1e-4 * std::max(1.0, eb.max_ref));
  }
  fs::remove_all(dir);
}

#ifdef WEAVER_DARKNET_REFERENCE
namespace {

/// Debian darknet's `name`.cfg at w x h with random weights written by
/// libdarknet itself (tests/reference/darknet_reference.cpp).
void darknet_files(const std::string& name, int w, int h, const fs::path& cfg, const fs::path& weights) {
  std::ifstream in("/usr/share/darknet/cfg/" + name + ".cfg");
  REQUIRE_MESSAGE(in, "no " << name << ".cfg (Debian package darknet)");
  std::ofstream out(cfg);
  std::string line;
  int section = -1;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') ++section;
    if (section == 0 && line.rfind("width", 0) == 0) line = "width=" + std::to_string(w);
    if (section == 0 && line.rfind("height", 0) == 0) line = "height=" + std::to_string(h);
    out << line << "\n";
  }
  out.close();
  std::string cmd = std::string("ASAN_OPTIONS=detect_leaks=0 ") + WEAVER_DARKNET_REFERENCE + " --cfg " + cfg.string()
    + " --write-random-weights " + weights.string() + " --seed 3 >" + weights.string() + ".log 2>&1";
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "darknet_reference failed: " << read_text(weights.string() + ".log"));
}

} // namespace

TEST_CASE("Darknet YOLOs exported as ONNX: ONNX Runtime and the re-imported file match the Darknet import") {
  for (const std::string name : {"yolov2-tiny", "yolov3-tiny", "yolov2"}) {
    CAPTURE(name);
    auto dir = test_dir("onnx-" + name);
    darknet_files(name, 160, 128, dir / "m.cfg", dir / "m.weights");
    auto dn = model::load((dir / "m.cfg").string(), (dir / "m.weights").string());
    export_onnx(dn->ir(), (dir / "m.onnx").string());

    session s(dn);
    const auto in_shape = dn->input_shape(); // NHWC RGB in [0,1]
    std::vector<float> x(static_cast<size_t>(numel(in_shape)));
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    for (auto& v : x) v = u(rng);
    std::copy(x.begin(), x.end(), s.input());
    s.run();
    write_f32(dir / "in.f32", x);
    std::string dims;
    for (auto d : in_shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
    std::string cmd = "node " + std::string(WEAVER_SOURCE_DIR) + "/tools/onnx_reference/run.mjs --model "
      + (dir / "m.onnx").string() + " --input " + (dir / "in.f32").string() + " --shape " + dims + " --out "
      + (dir / "out").string() + " 2>" + (dir / "err.txt").string();
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << read_text(dir / "err.txt"));

    session back(model::load((dir / "m.onnx").string()));
    REQUIRE(back.compiled().input_shape() == in_shape);
    std::copy(x.begin(), x.end(), back.input());
    back.run();

    auto ref = nlohmann::json::parse(read_text(dir / "out" / "outputs.json"));
    REQUIRE(ref["outputs"].size() == s.outputs());
    for (const auto& o : ref["outputs"]) {
      const std::string out = o["name"];
      int k = s.find_output(out), kb = back.find_output(out);
      REQUIRE(k >= 0);
      REQUIRE(kb >= 0);
      auto want = read_f32(dir / "out" / o["file"].get<std::string>());
      REQUIRE(static_cast<int64_t>(want.size()) == numel(s.output_shape(static_cast<size_t>(k))));
      auto e = compare(s.output(static_cast<size_t>(k)), want);
      auto eb = compare(back.output(static_cast<size_t>(kb)), want);
      MESSAGE(name << " " << out << ": Darknet import vs ORT max abs " << e.max_abs << ", re-imported ONNX vs ORT "
                   << eb.max_abs << " (max |ref| " << e.max_ref << ")");
      CHECK(e.nonfinite == 0);
      CHECK(e.max_abs <= 1e-4 * std::max(1.0, e.max_ref));
      CHECK(eb.max_abs <= 1e-4 * std::max(1.0, eb.max_ref));
    }
    fs::remove_all(dir);
  }
}
#endif

namespace {

// Wire-format pieces, to write what protobuf's serializer never does (a
// field twice) and to cut a file in the middle of a tensor.
std::string varint(uint64_t v) {
  std::string s;
  for (; v >= 0x80; v >>= 7) s.push_back(static_cast<char>((v & 0x7f) | 0x80));
  s.push_back(static_cast<char>(v));
  return s;
}
std::string len_field(int field, const std::string& body) {
  return varint(static_cast<uint64_t>(field) << 3 | 2) + varint(body.size()) + body;
}
std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

} // namespace

TEST_CASE(
  "ONNX import reads weights in place as protobuf would parse them: a field twice, graphs merged, typed "
  "data, a cut file") {
  // y = (x + a) * b + c, x [1,2]. a: raw_data twice (protobuf keeps the
  // last); b: float_data (typed); c: raw_data, in a second graph field
  // (protobuf merges the two graphs, appending initializers).
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  for (int d : {1, 2}) in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  auto node = [&](const char* op, const char* a, const char* b, const char* out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(out);
    n->add_input(a);
    n->add_input(b);
    n->add_output(out);
  };
  node("Add", "x", "a", "s");
  node("Mul", "s", "b", "p");
  node("Add", "p", "c", "y");
  g->add_output()->set_name("y");
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(1);
  b->add_dims(2);
  b->add_float_data(2.0f);
  b->add_float_data(-3.0f);
  // a, written by hand: raw_data (field 9) first {100, 200}, then {1, 2}.
  onnx::TensorProto a;
  a.set_name("a");
  a.set_data_type(1);
  a.add_dims(2);
  const std::string a_bytes =
    a.SerializeAsString() + len_field(9, floats({100.f, 200.f})) + len_field(9, floats({1.f, 2.f}));
  onnx::GraphProto g2;
  auto* c = g2.add_initializer();
  c->set_name("c");
  c->set_data_type(1);
  c->add_dims(2);
  c->set_raw_data(floats({0.5f, 0.25f}));
  const std::string graph1 = g->SerializeAsString() + len_field(5, a_bytes);
  m.clear_graph();
  const std::string file_bytes = m.SerializeAsString() + len_field(7, graph1) + len_field(7, g2.SerializeAsString());

  // What protobuf itself makes of these bytes: the reference.
  onnx::ModelProto ref;
  REQUIRE(ref.ParseFromString(file_bytes));
  REQUIRE(ref.graph().initializer_size() == 3);
  const fs::path dir = test_dir("onnx-wire");
  const fs::path file = dir / "m.onnx";
  std::ofstream(file, std::ios::binary).write(file_bytes.data(), static_cast<std::streamsize>(file_bytes.size()));
  const graph imported = import_onnx(file.string());
  auto values = [&](const char* name) {
    const int v = imported.find(name);
    REQUIRE(v >= 0);
    return imported.values[static_cast<size_t>(v)].data.f;
  };
  CHECK(values("a") == std::vector<float>{1.f, 2.f});
  CHECK(values("b") == std::vector<float>{2.f, -3.f});
  CHECK(values("c") == std::vector<float>{0.5f, 0.25f});
  for (const auto& t : ref.graph().initializer()) {
    const auto got = values(t.name().c_str());
    std::vector<float> want(t.float_data().begin(), t.float_data().end());
    if (t.has_raw_data()) {
      want.resize(t.raw_data().size() / 4);
      std::memcpy(want.data(), t.raw_data().data(), t.raw_data().size());
    }
    CHECK_MESSAGE(got == want, t.name());
  }
  auto m2 = model::load(file.string());
  session s(m2);
  s.input()[0] = 1.f;
  s.input()[1] = 1.f;
  s.run();
  CHECK(s.output(0)[0] == doctest::Approx((1 + 1) * 2.0 + 0.5));
  CHECK(s.output(0)[1] == doctest::Approx((1 + 2) * -3.0 + 0.25));

  // Cut at every byte from inside a's raw_data to the end: where protobuf
  // refuses the cut file, a clear error.
  for (size_t cut = file_bytes.size() - g2.SerializeAsString().size() - 60; cut < file_bytes.size(); ++cut) {
    CAPTURE(cut);
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(file_bytes.data(), static_cast<std::streamsize>(cut));
    std::string err;
    try {
      import_onnx(file.string());
    } catch (const model_error& e) {
      err = e.what();
    }
    onnx::ModelProto cut_ref;
    if (!cut_ref.ParseFromArray(file_bytes.data(), static_cast<int>(cut)) || !cut_ref.has_graph())
      CHECK(err.find("not an ONNX model") != std::string::npos);
  }
  fs::remove_all(dir);
}
