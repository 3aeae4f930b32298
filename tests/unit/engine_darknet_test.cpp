// The Darknet importer and the engine against two runtimes nobody here wrote:
// libdarknet itself (tests/reference/darknet_reference.cpp dumps every
// layer) and OpenCV's DNN module (its own Darknet importer). Same cfg (a copy
// with a small [net] width/height), same random weights in Darknet's real
// file format, same input: every layer Weaver still exposes must agree.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>

#include "accel/engine/darknet_import.hpp"
#include "accel/engine/executor.hpp"
#include "tests/unit/engine_util.hpp"

using namespace weaver::engine;
namespace fs = std::filesystem;

#ifdef WEAVER_DARKNET_REFERENCE

namespace {

const std::string cfg_dir = "/usr/share/darknet/cfg/";

// A copy of `src` with `edit` applied to every line; `section` counts
// sections from 0 ([net]) so edits can target one layer.
template <class F>
void rewrite_cfg(const std::string& src, const fs::path& dst, F edit) {
  std::ifstream in(src);
  REQUIRE_MESSAGE(in, "cannot read " << src << " (Debian package darknet)");
  std::ofstream out(dst);
  std::string line;
  int section = -1;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') ++section;
    edit(section, line);
    out << line << "\n";
  }
}

/// The cfg with [net] width/height replaced.
void sized_cfg(const std::string& src, const fs::path& dst, int w, int h) {
  rewrite_cfg(src, dst, [&](int section, std::string& line) {
    if (section != 0) return;
    auto key = line.substr(0, line.find('='));
    key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
    if (key == "width") line = "width=" + std::to_string(w);
    if (key == "height") line = "height=" + std::to_string(h);
  });
}

// libdarknet frees little of what it allocates: in a sanitizer build the
// reference process would fail on LeakSanitizer's report, not on its work.
int run(const std::string& cmd, const fs::path& log) {
  return std::system(("ASAN_OPTIONS=detect_leaks=0 " + cmd + " >" + log.string() + " 2>&1").c_str());
}

std::string reference() { return WEAVER_DARKNET_REFERENCE; }

void random_weights(const fs::path& cfg, const fs::path& weights, int seed) {
  auto log = weights.string() + ".log";
  int rc = run(reference() + " --cfg " + cfg.string() + " --write-random-weights " + weights.string() + " --seed "
                 + std::to_string(seed),
               log);
  REQUIRE_MESSAGE(rc == 0, "darknet_reference --write-random-weights failed: " << read_text(log));
}

/// Deterministic input in [0,1], Darknet's C,H,W order.
std::vector<float> random_chw(int c, int h, int w, unsigned seed) {
  std::vector<float> v(static_cast<size_t>(c) * h * w);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<float> nhwc_to_chw(const float* p, int64_t h, int64_t w, int64_t c) {
  std::vector<float> v(static_cast<size_t>(h * w * c));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) v[static_cast<size_t>((k * h + y) * w + x)] = p[(y * w + x) * c + k];
  return v;
}

void fill_nhwc(float* dst, const std::vector<float>& chw, int c, int h, int w) {
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) dst[(y * w + x) * c + k] = chw[static_cast<size_t>((k * h + y) * w + x)];
}

/// Error relative to the layer's scale: |d| / max(max |ref|, 1).
double scaled(const error_stats& e) { return e.max_abs / std::max(e.max_ref, 1.0); }

struct prepared {
  fs::path dir, cfg, weights;
  int w = 0, h = 0;
  std::vector<float> chw;
  nlohmann::json layers; // darknet_reference's layers.json "layers"
};

/// Copies `name`.cfg at size w x h (`resize`: keeps the cfg's own size and
/// has libdarknet resize_network to w x h instead), writes random weights and
/// an input, and runs libdarknet on them.
prepared prepare(const std::string& name, int w, int h, unsigned seed, bool resize = false) {
  prepared p;
  p.dir = test_dir("darknet-" + name);
  p.cfg = p.dir / (name + ".cfg");
  p.weights = p.dir / (name + ".weights");
  p.w = w;
  p.h = h;
  if (resize)
    fs::copy_file(cfg_dir + name + ".cfg", p.cfg);
  else
    sized_cfg(cfg_dir + name + ".cfg", p.cfg, w, h);
  random_weights(p.cfg, p.weights, static_cast<int>(seed));
  p.chw = random_chw(3, h, w, seed);
  write_f32(p.dir / "in.f32", p.chw);
  std::string size = resize ? " --width " + std::to_string(w) + " --height " + std::to_string(h) : "";
  int rc = run(reference() + " --cfg " + p.cfg.string() + " --weights " + p.weights.string() + " --input "
                 + (p.dir / "in.f32").string() + " --out " + (p.dir / "out").string() + size,
               p.dir / "ref.log");
  REQUIRE_MESSAGE(rc == 0, "darknet_reference failed: " << read_text(p.dir / "ref.log"));
  p.layers = nlohmann::json::parse(read_text(p.dir / "out" / "layers.json"))["layers"];
  return p;
}

/// Every layer Weaver exposes against libdarknet's dump. Returns the worst
/// scaled error; checks shapes, that every layer that computes something is
/// exposed, and that nothing is non-finite.
double compare_with_darknet(const prepared& p, session& s, double tol) {
  double worst = 0;
  int compared = 0, skipped = 0;
  const int n = static_cast<int>(p.layers.size());
  for (const auto& l : p.layers) {
    const int i = l["index"].get<int>();
    const std::string type = l["type"].get<std::string>();
    shape_t shape;
    const float* got = s.value("layer_" + std::to_string(i), &shape);
    if (!got) {
      // Only pure aliases (a route of one layer, dropout) may disappear.
      CHECK_MESSAGE((type == "ROUTE" || type == "DROPOUT"), "layer " << i << " (" << type << ") not exposed");
      ++skipped;
      continue;
    }
    const int64_t c = l["out_c"], h = l["out_h"], w = l["out_w"];
    REQUIRE_MESSAGE((shape == shape_t{1, h, w, c}),
                    "layer " << i << " (" << type << "): Weaver " << to_string(shape) << ", darknet " << c << "x" << h
                             << "x" << w << " (CHW)");
    auto ref = read_f32(p.dir / "out" / l["file"].get<std::string>());
    REQUIRE(static_cast<int64_t>(ref.size()) == c * h * w);
    auto got_chw = nhwc_to_chw(got, h, w, c);
    auto e = compare(got_chw.data(), ref);
    CHECK_MESSAGE(e.nonfinite == 0, "layer " << i);
    CHECK_MESSAGE(
      scaled(e) < tol,
      "layer " << i << " (" << type << "): max abs error " << e.max_abs << " (max |ref| " << e.max_ref << ")");
    worst = std::max(worst, scaled(e));
    if (i >= n - 4 || type == "REGION" || type == "YOLO")
      MESSAGE("darknet layer " << i << " " << type << " " << c << "x" << h << "x" << w << ": max abs error "
                               << e.max_abs << ", max rel error " << e.max_rel << " (max |ref| " << e.max_ref << ")");
    ++compared;
  }
  MESSAGE(compared << " layers compared with libdarknet (" << skipped << " aliases removed by the passes), "
                   << "worst error / max(|ref|,1) = " << worst);
  CHECK(compared >= n - 3);
  return worst;
}

/// OpenCV names a Darknet layer's blobs by the layer index (conv_5, bn_5,
/// pool_6, reorg_27, concat_28...), except the activation after a conv, which
/// carries the next index. Returns, per Darknet layer, the name of the last
/// OpenCV layer computing it (skipping the heads' permute/region layers).
std::map<int, std::string> opencv_layer_names(cv::dnn::Net& net) {
  std::map<int, std::string> names;
  int last_conv = -1;
  for (const auto& name : net.getLayerNames()) {
    auto us = name.rfind('_');
    if (us == std::string::npos || name.find_first_not_of("0123456789", us + 1) != std::string::npos) continue;
    std::string kind = name.substr(0, us);
    int idx = std::atoi(name.c_str() + us + 1);
    if (kind == "permute" || kind == "yolo" || kind == "region") continue;
    if (kind == "conv") last_conv = idx;
    bool activation = kind == "leaky" || kind == "relu" || kind == "logistic" || kind == "mish" || kind == "swish";
    names[activation ? last_conv : idx] = name;
  }
  return names;
}

/// OpenCV's region/yolo output: one row per (cell, anchor) in the same order
/// as Weaver's NHWC head, columns x, y, w, h (decoded, relative to the
/// image), objectness, then class scores obj * p (zeroed under a threshold
/// or by NMS). Decodes Weaver's raw head the same way and compares.
void compare_head(const float* head, const shape_t& hs, const yolo_layer_info& info, int net_w, int net_h,
                  const cv::Mat& ocv) {
  const int64_t rows = hs[1], cols = hs[2], anchors = static_cast<int64_t>(info.anchors.size() / 2);
  const int64_t per = 5 + info.classes;
  REQUIRE(ocv.total() == static_cast<size_t>(rows * cols * anchors * per));
  const float* o = ocv.ptr<float>();
  double box_err = 0, cls_err = 0;
  int64_t cls_compared = 0;
  for (int64_t y = 0; y < rows; ++y)
    for (int64_t x = 0; x < cols; ++x)
      for (int64_t a = 0; a < anchors; ++a) {
        const int64_t r = (y * cols + x) * anchors + a;
        const float* d = head + r * per;
        const float* q = o + r * per;
        // Region (v2) anchors are in grid cells, yolo (v3) ones in pixels.
        const double nw = info.version == 2 ? static_cast<double>(cols) : net_w;
        const double nh = info.version == 2 ? static_cast<double>(rows) : net_h;
        const double want[5] = {(static_cast<double>(x) + d[0]) / static_cast<double>(cols),
                                (static_cast<double>(y) + d[1]) / static_cast<double>(rows),
                                std::exp(d[2]) * info.anchors[static_cast<size_t>(2 * a)] / nw,
                                std::exp(d[3]) * info.anchors[static_cast<size_t>(2 * a + 1)] / nh, d[4]};
        for (int k = 0; k < 5; ++k)
          box_err = std::max(box_err, std::fabs(want[k] - q[k]) / std::max(std::fabs(want[k]), 1.0));
        for (int64_t k = 5; k < per; ++k)
          if (q[k] > 0) {
            cls_err = std::max(cls_err, std::fabs(static_cast<double>(d[4]) * d[k] - q[k]));
            ++cls_compared;
          }
      }
  MESSAGE("OpenCV " << std::string(info.version == 2 ? "region" : "yolo") << " head " << info.output
                    << ": box/objectness "
                    << "error " << box_err << ", class score error " << cls_err << " over " << cls_compared
                    << " scores OpenCV kept");
  CHECK(box_err < 1e-4);
  CHECK(cls_err < 1e-4);
}

/// The same files through OpenCV DNN: every conv/pool/route/reorg/upsample
/// output it names, then the decoded heads.
void compare_with_opencv(const prepared& p, session& s, double tol) {
  cv::dnn::Net net = cv::dnn::readNetFromDarknet(p.cfg.string(), p.weights.string());
  REQUIRE(!net.empty());
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  // Fused, a layer feeding a concat writes straight into the concat's
  // output and its own blob reads as zeros.
  net.enableFusion(false);
  int dims[4] = {1, 3, p.h, p.w};
  cv::Mat blob(4, dims, CV_32F);
  std::copy(p.chw.begin(), p.chw.end(), blob.ptr<float>());
  auto names = opencv_layer_names(net);
  std::vector<cv::String> wanted;
  std::vector<int> index;
  for (const auto& [i, name] : names) {
    shape_t shape;
    if (!s.value("layer_" + std::to_string(i), &shape)) continue;
    wanted.push_back(name);
    index.push_back(i);
  }
  auto heads = read_darknet_info(p.cfg.string()).heads;
  for (const auto& h : net.getUnconnectedOutLayersNames()) wanted.push_back(h);
  REQUIRE(wanted.size() == index.size() + heads.size());
  net.setInput(blob);
  std::vector<cv::Mat> outs;
  net.forward(outs, wanted);
  double worst = 0;
  for (size_t k = 0; k < index.size(); ++k) {
    shape_t shape;
    const float* got = s.value("layer_" + std::to_string(index[k]), &shape);
    const cv::Mat& m = outs[k];
    REQUIRE_MESSAGE(
      (m.dims == 4 && m.size[0] == 1 && m.size[1] == shape[3] && m.size[2] == shape[1] && m.size[3] == shape[2]),
      "OpenCV " << wanted[k] << " has another shape than Weaver's " << to_string(shape));
    std::vector<float> ref(m.ptr<float>(), m.ptr<float>() + m.total());
    auto got_chw = nhwc_to_chw(got, shape[1], shape[2], shape[3]);
    auto e = compare(got_chw.data(), ref);
    CHECK_MESSAGE(scaled(e) < tol,
                  "OpenCV " << wanted[k] << " (darknet layer " << index[k] << "): max abs error " << e.max_abs
                            << " (max |ref| " << e.max_ref << ")");
    worst = std::max(worst, scaled(e));
  }
  MESSAGE(index.size() << " layers compared with OpenCV DNN " << CV_VERSION
                       << ", worst error / max(|ref|,1) = " << worst);
  CHECK(index.size() >= 10);
  for (size_t k = 0; k < heads.size(); ++k) {
    shape_t hs;
    const float* head = s.value(heads[k].output, &hs);
    REQUIRE(head);
    compare_head(head, hs, heads[k], p.w, p.h, outs[index.size() + k]);
  }
}

/// `resize`: the cfg keeps its own size; Weaver's load-time input size and
/// libdarknet's resize_network set w x h.
void check_network(const std::string& name, int w, int h, unsigned seed, bool resize = false) {
  auto p = prepare(name, w, h, seed, resize);
  auto m =
    resize ? model::load(p.cfg.string(), p.weights.string(), 1, h, w) : model::load(p.cfg.string(), p.weights.string());
  REQUIRE(m->input_shape() == shape_t{1, h, w, 3});
  session s(m);
  fill_nhwc(s.input(), p.chw, 3, h, w);
  s.run();
  // Measured (float32, different summation orders), worst |error| / max(|ref|, 1)
  // over all layers, libdarknet and OpenCV alike: 2.2e-6 yolov2-tiny,
  // 1.4e-6 yolov3-tiny, 1.6e-6 yolov2, 3.0e-6 yolov2-tiny at 160x112.
  const double tol = 2e-5;
  compare_with_darknet(p, s, tol);
  compare_with_opencv(p, s, tol);
  fs::remove_all(p.dir);
}

} // namespace

TEST_CASE("yolov2-tiny matches libdarknet and OpenCV layer by layer") { check_network("yolov2-tiny", 96, 96, 11); }

TEST_CASE("yolov3-tiny matches libdarknet and OpenCV layer by layer (upsample, route of two)") {
  check_network("yolov3-tiny", 96, 96, 12);
}

TEST_CASE("yolov2 matches libdarknet and OpenCV layer by layer (reorg, route of two)") {
  // 96 keeps the 26x26 branch even (6x6) for the stride-2 reorg.
  check_network("yolov2", 96, 96, 13);
}

TEST_CASE("a non-square size whose feature maps become odd: maxpool far padding as Darknet's") {
  // 160x112: yolov2-tiny's stride-2 pools meet 7 rows, where Darknet's
  // (h + size-1 - size)/stride + 1 rounds up to 4.
  check_network("yolov2-tiny", 160, 112, 14);
}

TEST_CASE("an input size set at load time matches libdarknet's resize_network") {
  // The cfg says 416x416 (all pools see even sizes); loaded at 160x112 the
  // pools meet odd sizes, so padding fixed at import for 416 would be wrong.
  check_network("yolov2-tiny", 160, 112, 15, true);
  check_network("yolov3-tiny", 192, 96, 16, true);
  // At 112 rows yolov3-tiny's upsampled 4 rows cannot join layer 8's 7:
  // libdarknet refuses the size too.
  auto dir = test_dir("darknet-resize");
  random_weights(cfg_dir + "yolov3-tiny.cfg", dir / "w", 1);
  try {
    model::load(cfg_dir + "yolov3-tiny.cfg", (dir / "w").string(), 1, 112, 160);
    FAIL("yolov3-tiny loaded at 160x112");
  } catch (const model_error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("layer_20") != std::string::npos, e.what());
  }
  fs::remove_all(dir);
}

TEST_CASE("Darknet import errors name the problem and never crash") {
  auto dir = test_dir("darknet-bad");
  sized_cfg(cfg_dir + "yolov2-tiny.cfg", dir / "v2t.cfg", 96, 96);
  sized_cfg(cfg_dir + "yolov3-tiny.cfg", dir / "v3t.cfg", 96, 96);
  random_weights(dir / "v2t.cfg", dir / "v2t.weights", 1);
  random_weights(dir / "v3t.cfg", dir / "v3t.weights", 2);
  const std::string w2 = (dir / "v2t.weights").string(), w3 = (dir / "v3t.weights").string();
  auto error_of = [](const fs::path& cfg, const std::string& weights) -> std::string {
    try {
      model::load(cfg.string(), weights);
    } catch (const model_error& e) {
      return e.what();
    }
    return "(no error)";
  };
  auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };
  // The good pair loads (guards the cases below).
  CHECK_NOTHROW(model::load((dir / "v2t.cfg").string(), w2));

  SUBCASE("truncated weights") {
    auto bytes = read_text(w2);
    for (size_t cut : {bytes.size() - 4, bytes.size() / 2, size_t{100}, size_t{18}, size_t{3}, size_t{0}}) {
      std::ofstream(dir / "cut.weights", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
      auto e = error_of(dir / "v2t.cfg", (dir / "cut.weights").string());
      CHECK_MESSAGE((contains(e, "truncated") || contains(e, "no header")), "cut at " << cut << ": " << e);
    }
    auto e = error_of(dir / "v2t.cfg", (dir / "cut.weights").string());
    CHECK(contains(e, "cut.weights"));
  }
  SUBCASE("a header cut inside its 64-bit `seen` count (found by fuzz_model)") {
    // libdarknet writes version 0.2: 12 bytes of version, then 8 of `seen`.
    // Cut at 16-19, the reader started past the end and read out of bounds.
    auto bytes = read_text(w2);
    for (size_t cut : {16, 17, 19}) {
      std::ofstream(dir / "cut.weights", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
      auto e = error_of(dir / "v2t.cfg", (dir / "cut.weights").string());
      CHECK_MESSAGE(contains(e, "no header"), "cut at " << cut << ": " << e);
    }
  }
  SUBCASE("weights of another network") {
    // yolov3-tiny's weights are shorter than yolov2-tiny's, and vice versa.
    auto e = error_of(dir / "v2t.cfg", w3);
    CHECK_MESSAGE(contains(e, "truncated"), e);
    e = error_of(dir / "v3t.cfg", w2);
    CHECK_MESSAGE(contains(e, "do not match"), e);
    // One layer's filter count changed: the file no longer lines up.
    rewrite_cfg(cfg_dir + "yolov2-tiny.cfg", dir / "narrow.cfg", [](int section, std::string& line) {
      if (section == 1 && line.rfind("filters=", 0) == 0) line = "filters=8";
    });
    e = error_of(dir / "narrow.cfg", w2);
    CHECK_MESSAGE(contains(e, "do not match"), e);
    // Trailing bytes after the last layer.
    std::ofstream(dir / "long.weights", std::ios::binary) << read_text(w2) << std::string(8, '\0');
    e = error_of(dir / "v2t.cfg", (dir / "long.weights").string());
    CHECK_MESSAGE(contains(e, "8 bytes are left over"), e);
  }
  SUBCASE("unknown layer type names the section") {
    rewrite_cfg(cfg_dir + "yolov2-tiny.cfg", dir / "lstm.cfg", [](int section, std::string& line) {
      if (section == 3 && line[0] == '[') line = "[lstm]\noutput=16\n\n" + line;
    });
    auto e = error_of(dir / "lstm.cfg", w2);
    CHECK_MESSAGE((contains(e, "[lstm]") && contains(e, "layer 2") && contains(e, "lstm.cfg")), e);
    CHECK_THROWS_AS(read_darknet_info((dir / "lstm.cfg").string()), model_error);
  }
  SUBCASE("route to a layer out of range") {
    for (std::string bad : {"-30", "17", "-1, 40", "x", "-1x"}) {
      rewrite_cfg(cfg_dir + "yolov3-tiny.cfg", dir / "route.cfg", [&](int, std::string& line) {
        if (line.rfind("layers = -4", 0) == 0 || line.rfind("layers=-4", 0) == 0) line = "layers=" + bad;
      });
      REQUIRE(read_text(dir / "route.cfg").find("layers=" + bad) != std::string::npos);
      auto e = error_of(dir / "route.cfg", w3);
      CHECK_MESSAGE((contains(e, "[route]") && contains(e, "layer 17")), bad << ": " << e);
    }
  }
  SUBCASE("an input without channels is refused (found by fuzz_model)") {
    for (std::string bad : {"0", "-3"}) {
      rewrite_cfg(cfg_dir + "yolov2-tiny.cfg", dir / "nochan.cfg", [&](int section, std::string& line) {
        if (section == 0 && line.rfind("channels=", 0) == 0) line = "channels=" + bad;
      });
      REQUIRE(read_text(dir / "nochan.cfg").find("channels=" + bad) != std::string::npos);
      auto e = error_of(dir / "nochan.cfg", w2);
      CHECK_MESSAGE((contains(e, "[net]") && contains(e, "channels")), bad << ": " << e);
    }
  }
  SUBCASE("a yolo mask that is no anchor index is refused (found by fuzz_model)") {
    for (std::string bad : {"0.5", "-1", "1e38", "9"}) {
      rewrite_cfg(cfg_dir + "yolov3-tiny.cfg", dir / "mask.cfg", [&](int, std::string& line) {
        if (line.rfind("mask", 0) == 0) line = "mask=" + bad + ",1,2";
      });
      REQUIRE(read_text(dir / "mask.cfg").find("mask=" + bad) != std::string::npos);
      auto e = error_of(dir / "mask.cfg", w3);
      CHECK_MESSAGE((contains(e, "[yolo]") && contains(e, "mask")), bad << ": " << e);
    }
  }
  SUBCASE("missing files and a cfg without [net]") {
    CHECK(contains(error_of(dir / "none.cfg", w2), "cannot open"));
    CHECK(contains(error_of(dir / "v2t.cfg", (dir / "none.weights").string()), "cannot open"));
    CHECK(contains(error_of(dir / "v2t.cfg", ""), "needs its .weights"));
    std::ofstream(dir / "nonet.cfg") << "[convolutional]\nfilters=3\n";
    CHECK(contains(error_of(dir / "nonet.cfg", w2), "[net]"));
  }
  fs::remove_all(dir);
}

#else

TEST_CASE("the libdarknet reference is built") {
  FAIL("libdarknet not found at configure time: install Debian's darknet (tools/setup.sh does)");
}

#endif // WEAVER_DARKNET_REFERENCE
