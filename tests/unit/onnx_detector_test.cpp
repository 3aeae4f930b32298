// detector.kind onnx with a configured head: a YOLOv8-like graph built with
// python3-onnx (tests/reference/onnx_cases.py --yolov8, random weights) as
// the detector's model. Its detections equal what the YOLOv8 decoder and NMS
// make of ONNX Runtime's output for the same input; heads that do not fit
// the model's outputs are refused by name.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "accel/detect/dnn_decoders.hpp"
#include "accel/detect/dnn_detector.hpp"
#include "accel/detect/nms.hpp"
#include "tests/unit/engine_util.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

/// A 160x128 YOLOv8-like model with 6 classes (420 anchor points), made once.
struct yolov8_file {
  fs::path dir = test_dir("onnx-yolov8");
  fs::path file = dir / "yolov8_like.onnx";
  yolov8_file() {
    std::string cmd = "/usr/bin/python3 " + std::string(WEAVER_SOURCE_DIR) + "/tests/reference/onnx_cases.py --yolov8 "
      + file.string() + " 128 160 6 >" + (dir / "log.txt").string() + " 2>&1";
    if (std::system(cmd.c_str()) != 0) FAIL("onnx_cases.py --yolov8 failed: " << read_text(dir / "log.txt"));
  }
  ~yolov8_file() { fs::remove_all(dir); }
};

const yolov8_file& yolov8() {
  static const yolov8_file f;
  return f;
}

dnn_options options(const std::string& head) {
  dnn_options o;
  o.kind = "onnx";
  o.head = head;
  o.model = yolov8().file.string();
  o.input_width = o.input_height = 0; // the model's own 160x128 (its anchor points are fixed)
  o.score_threshold = 0.02f; // random weights: class scores near sigmoid(-4)
  o.embedding = false;
  return o;
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

    // The same input for ONNX Runtime: the detector's own pre-processing (NHWC) as NCHW.
    std::vector<float> nhwc(static_cast<size_t>(128 * 160 * 3)), nchw(nhwc.size());
    d.fill_input(img, nhwc.data());
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 128 * 160; ++p)
        nchw[static_cast<size_t>(c * 128 * 160 + p)] = nhwc[static_cast<size_t>(3 * p + c)];
    const auto dir = yolov8().dir / "run";
    fs::create_directories(dir);
    write_f32(dir / "in.f32", nchw);
    std::string cmd = "node " + std::string(WEAVER_SOURCE_DIR) + "/tools/onnx_reference/run.mjs --model "
      + yolov8().file.string() + " --input " + (dir / "in.f32").string() + " --shape 1,3,128,160 --out "
      + (dir / "out").string() + " 2>" + (dir / "err.txt").string();
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << read_text(dir / "err.txt"));
    auto ref = nlohmann::json::parse(read_text(dir / "out" / "outputs.json"));
    REQUIRE(ref["outputs"][0]["shape"] == nlohmann::json::array({1, 10, 420}));
    auto out = read_f32(dir / "out" / "0.f32");

    // Decoded, clipped to the frame (the input is the frame's size), NMS.
    std::vector<detection> want;
    for (const auto& r : decode_yolov8(out.data(), 420, 6, o.score_threshold, o.person_class)) {
      float x0 = std::clamp(r.bbox.x, 0.f, 160.f), y0 = std::clamp(r.bbox.y, 0.f, 128.f);
      float x1 = std::clamp(r.bbox.x + r.bbox.w, 0.f, 160.f), y1 = std::clamp(r.bbox.y + r.bbox.h, 0.f, 128.f);
      if (x1 - x0 < 2 || y1 - y0 < 2) continue;
      detection x;
      x.bbox = {x0, y0, x1 - x0, y1 - y0};
      x.score = r.score;
      want.push_back(x);
    }
    want = nms(want, o.nms_iou);
    auto got = d.detect(img);
    MESSAGE(got.size() << " detections (ONNX Runtime decoded: " << want.size() << ")");
    REQUIRE(want.size() >= 5);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].bbox.x == doctest::Approx(want[i].bbox.x).epsilon(1e-3));
      CHECK(got[i].bbox.y == doctest::Approx(want[i].bbox.y).epsilon(1e-3));
      CHECK(got[i].bbox.w == doctest::Approx(want[i].bbox.w).epsilon(1e-3));
      CHECK(got[i].bbox.h == doctest::Approx(want[i].bbox.h).epsilon(1e-3));
      CHECK(got[i].score == doctest::Approx(want[i].score).epsilon(1e-4));
    }
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
