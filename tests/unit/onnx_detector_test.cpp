// detector.kind onnx with a configured head: a YOLOv8-like graph and the same
// backbone with YOLOv5's head, built with python3-onnx
// (tests/reference/onnx_cases.py --yolov8 / --yolov5, random weights), as
// the detector's model. Its detections equal what the YOLOv8 / YOLOv5
// decoder and NMS make of ONNX Runtime's output for the same input,
// stretched or letterboxed; heads that do not fit the model's outputs are
// refused by name.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "accel/detect/dnn_decoders.hpp"
#include "accel/detect/dnn_detector.hpp"
#include "accel/detect/nms.hpp"
#include "tests/unit/engine_util.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

/// A 160x128 model with 6 classes, made once per head: v8 (420 anchor
/// points, output [1, 10, 420]) or v5 (3 anchors a cell: [1, 1260, 11]).
struct model_file {
  fs::path dir, file;
  explicit model_file(const std::string& head) : dir(test_dir("onnx-" + head)), file(dir / (head + "_like.onnx")) {
    std::string cmd = "/usr/bin/python3 " + std::string(WEAVER_SOURCE_DIR) + "/tests/reference/onnx_cases.py --" + head
      + " " + file.string() + " 128 160 6 >" + (dir / "log.txt").string() + " 2>&1";
    if (std::system(cmd.c_str()) != 0) FAIL("onnx_cases.py --" << head << " failed: " << read_text(dir / "log.txt"));
  }
  ~model_file() { fs::remove_all(dir); }
};

const model_file& yolov8() {
  static const model_file f("yolov8");
  return f;
}

const model_file& yolov5() {
  static const model_file f("yolov5");
  return f;
}

dnn_options options(const std::string& head, const model_file& m = yolov8()) {
  dnn_options o;
  o.kind = "onnx";
  o.head = head;
  o.model = m.file.string();
  o.input_width = o.input_height = 0; // the model's own 160x128 (its anchor points are fixed)
  o.score_threshold = 0.02f; // random weights: v8's class scores near sigmoid(-4)
  o.embedding = false;
  return o;
}

/// ONNX Runtime's output0 for the detector's own input (NHWC, as
/// fill_input writes it), given to it as NCHW.
std::vector<float> ort_output(const model_file& m, const std::vector<float>& nhwc, const std::string& tag) {
  std::vector<float> nchw(nhwc.size());
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 128 * 160; ++p)
      nchw[static_cast<size_t>(c * 128 * 160 + p)] = nhwc[static_cast<size_t>(3 * p + c)];
  const auto dir = m.dir / tag;
  fs::create_directories(dir);
  write_f32(dir / "in.f32", nchw);
  std::string cmd = "node " + std::string(WEAVER_SOURCE_DIR) + "/tools/onnx_reference/run.mjs --model "
    + m.file.string() + " --input " + (dir / "in.f32").string() + " --shape 1,3,128,160 --out " + (dir / "out").string()
    + " 2>" + (dir / "err.txt").string();
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << read_text(dir / "err.txt"));
  return read_f32(dir / "out" / "0.f32");
}

/// The raw boxes mapped to the frame by `to_frame`, clipped to it,
/// suppressed: what the detector must return.
template <class F>
std::vector<detection> expected(const std::vector<raw_box>& raw, const dnn_options& o, cv::Size frame, F to_frame) {
  std::vector<detection> want;
  for (const auto& r : raw) {
    const box b = to_frame(r.bbox);
    const float fw = static_cast<float>(frame.width), fh = static_cast<float>(frame.height);
    float x0 = std::clamp(b.x, 0.f, fw), y0 = std::clamp(b.y, 0.f, fh);
    float x1 = std::clamp(b.x + b.w, 0.f, fw), y1 = std::clamp(b.y + b.h, 0.f, fh);
    if (x1 - x0 < 2 || y1 - y0 < 2) continue;
    detection x;
    x.bbox = {x0, y0, x1 - x0, y1 - y0};
    x.score = r.score;
    want.push_back(x);
  }
  return nms(want, o.nms_iou);
}

box same_box(const box& b) { return b; }

void same_detections(const std::vector<detection>& got, const std::vector<detection>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].bbox.x == doctest::Approx(want[i].bbox.x).epsilon(1e-3));
    CHECK(got[i].bbox.y == doctest::Approx(want[i].bbox.y).epsilon(1e-3));
    CHECK(got[i].bbox.w == doctest::Approx(want[i].bbox.w).epsilon(1e-3));
    CHECK(got[i].bbox.h == doctest::Approx(want[i].bbox.h).epsilon(1e-3));
    CHECK(got[i].score == doctest::Approx(want[i].score).epsilon(1e-4));
  }
}

std::string check_error(const dnn_options& o) {
  try {
    dnn_detector(o).check();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_SUITE("onnx_detector") {
  TEST_CASE("yolov8 head: detections equal ONNX Runtime's output decoded and suppressed") {
    dnn_options o = options("yolov8");
    dnn_detector d(o);
    d.check();
    cv::Mat img(128, 160, CV_8UC3);
    cv::randu(img, 0, 256);
    // The same input for ONNX Runtime: the detector's own pre-processing.
    std::vector<float> nhwc(static_cast<size_t>(128 * 160 * 3));
    d.fill_input(img, nhwc.data());
    auto out = ort_output(yolov8(), nhwc, "run");
    REQUIRE(out.size() == 10 * 420);
    // Decoded, clipped to the frame (the input is the frame's size), NMS.
    auto want = expected(decode_yolov8(out.data(), 420, 6, o.score_threshold, o.person_class), o, img.size(), same_box);
    auto got = d.detect(img);
    MESSAGE(got.size() << " detections (ONNX Runtime decoded: " << want.size() << ")");
    REQUIRE(want.size() >= 5);
    same_detections(got, want);
  }

  TEST_CASE("yolov5 head (Pow in the box sizes, 5-D reshapes): detections equal ONNX Runtime's decoded") {
    dnn_options o = options("yolov5", yolov5());
    o.score_threshold = 0.04f; // random weights: objectness x class near 0.04
    dnn_detector d(o);
    d.check();
    cv::Mat img(128, 160, CV_8UC3);
    cv::randu(img, 0, 256);
    std::vector<float> nhwc(static_cast<size_t>(128 * 160 * 3));
    d.fill_input(img, nhwc.data());
    auto out = ort_output(yolov5(), nhwc, "run");
    REQUIRE(out.size() == 1260 * 11);
    auto want =
      expected(decode_yolov5(out.data(), 1260, 6, o.score_threshold, o.person_class), o, img.size(), same_box);
    auto got = d.detect(img);
    MESSAGE(got.size() << " detections (ONNX Runtime decoded: " << want.size() << ")");
    REQUIRE(want.size() >= 5);
    same_detections(got, want);
  }

  TEST_CASE("letterbox: the frame keeps its aspect between grey bands, boxes map back through them") {
    dnn_options o = options("yolov8");
    o.letterbox = true;
    dnn_detector d(o);
    cv::Mat img(128, 320, CV_8UC3); // 2.5:1 into the model's 160x128: 160x64 of content at row 32
    cv::randu(img, 0, 256);
    std::vector<float> nhwc(static_cast<size_t>(128 * 160 * 3));
    d.fill_input(img, nhwc.data());
    const auto& p = d.placement(img.size());
    REQUIRE(p.left == 0);
    REQUIRE(p.top == 32);
    REQUIRE(p.width == 160);
    REQUIRE(p.height == 64);
    cv::Mat small;
    cv::resize(img, small, cv::Size(160, 64), 0, 0, cv::INTER_LINEAR);
    int grey = 0, content = 0;
    for (int y = 0; y < 128; ++y)
      for (int x = 0; x < 160; ++x)
        for (int c = 0; c < 3; ++c) {
          const float v = nhwc[static_cast<size_t>((y * 160 + x) * 3 + c)];
          if (y < 32 || y >= 96)
            grey += v == 114.0f / 255.0f;
          else // RGB in [0, 1] of the resized frame
            content += v == static_cast<float>(small.at<cv::Vec3b>(y - 32, x)[2 - c]) / 255.0f;
        }
    CHECK(grey == 64 * 160 * 3);
    CHECK(content == 64 * 160 * 3);

    auto out = ort_output(yolov8(), nhwc, "letterboxed");
    auto want =
      expected(decode_yolov8(out.data(), 420, 6, o.score_threshold, o.person_class), o, img.size(), [](const box& b) {
        return box{b.x / 0.5f, (b.y - 32) / 0.5f, b.w / 0.5f, b.h / 0.5f};
      });
    auto got = d.detect(img);
    MESSAGE(got.size() << " letterboxed detections (ONNX Runtime decoded: " << want.size() << ")");
    REQUIRE(want.size() >= 3);
    same_detections(got, want);
    // Stretched, the same frame gives other boxes (the check above can fail).
    o.letterbox = false;
    auto stretched = dnn_detector(o).detect(img);
    bool differ = stretched.size() != got.size();
    for (size_t i = 0; !differ && i < got.size(); ++i) differ = !(stretched[i].bbox == got[i].bbox);
    CHECK(differ);
  }

  TEST_CASE("a head whose output shape does not fit the model is refused, naming both") {
    auto e = check_error(options("yolov5"));
    CHECK(e.find("no yolov5 head at input 160x128") != std::string::npos);
    CHECK(e.find("[1, points, 5 + classes]") != std::string::npos);
    CHECK(e.find("output0 [1,10,420]") != std::string::npos);
    CHECK(check_error(options("nanodet")).find("no nanodet head") != std::string::npos);
    auto v3 = options("yolov3");
    v3.anchors = {10, 14, 23, 27, 37, 58};
    CHECK(check_error(v3).find("no yolov3 head") != std::string::npos);
    CHECK(check_error(options("yolov8")) == "(no error)");
    CHECK(check_error(options("yolov8", yolov5())).find("output0 [1,1260,11]") != std::string::npos);

    SUBCASE("at another input size the anchor points no longer fit") {
      auto o = options("yolov8");
      o.input_width = 320;
      o.input_height = 256;
      CHECK(check_error(o) != "(no error)"); // the DFL reshape names 420 points
    }
    SUBCASE("an unknown head or yolo anchors missing") {
      CHECK_THROWS_AS(dnn_detector{options("yolov9")}, std::invalid_argument);
      CHECK_THROWS_AS(dnn_detector{options("yolov2")}, std::invalid_argument);
    }
  }
}
