#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "accel/detect/dnn_decoders.hpp"
#include "accel/detect/nms.hpp"

using namespace weaver;

TEST_SUITE("dnn_decoders") {
  TEST_CASE("NanoDet: distances are the softmax expectation over bins, from the cell centre") {
    // A 2x3 grid, stride 8, 2 classes, 4 bins. Cell 4 (x 1, y 1) scores 0.9
    // for class 1; its left/top/right/bottom distributions peak hard at bins
    // 1, 2, 3, 0 (logits 50 vs 0: one-hot to float precision).
    const int gh = 2, gw = 3, classes = 2, bins = 4, stride = 8;
    std::vector<float> cls(static_cast<size_t>(gh * gw * classes), 0.1f);
    std::vector<float> reg(static_cast<size_t>(gh * gw * 4 * bins), 0.0f);
    cls[4 * classes + 1] = 0.9f;
    const int peak[4] = {1, 2, 3, 0};
    for (int side = 0; side < 4; ++side) reg[static_cast<size_t>(4 * 4 * bins + side * bins + peak[side])] = 50.f;
    auto out = decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, -1, 0.5f);
    REQUIRE(out.size() == 1);
    CHECK(out[0].class_id == 1);
    CHECK(out[0].score == doctest::Approx(0.9f));
    // centre (1.5*8, 1.5*8) = (12, 12); left 8, top 16, right 24, bottom 0
    CHECK(out[0].bbox.x == doctest::Approx(4.f));
    CHECK(out[0].bbox.y == doctest::Approx(-4.f));
    CHECK(out[0].bbox.w == doctest::Approx(32.f));
    CHECK(out[0].bbox.h == doctest::Approx(16.f));

    SUBCASE("the class filter keeps only the asked class") {
      CHECK(decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, 0, 0.5f).empty());
      CHECK(decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, 1, 0.5f).size() == 1);
    }
    SUBCASE("flat logits give the mean bin") {
      std::fill(reg.begin(), reg.end(), 0.f);
      auto flat = decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.5f, -1, 0.f);
      REQUIRE(flat.size() == 1);
      // expectation 1.5 bins = 12 px each side, from the corner point (8, 8)
      CHECK(flat[0].bbox.x == doctest::Approx(-4.f));
      CHECK(flat[0].bbox.w == doctest::Approx(24.f));
    }
    SUBCASE("nothing above the threshold, nothing out") {
      CHECK(decode_nanodet(cls.data(), reg.data(), gh, gw, stride, classes, bins, 0.95f, -1, 0.5f).empty());
    }
  }

  TEST_CASE("YOLO v2 region: anchors in grid cells; v3 yolo: anchors in input pixels") {
    // 2x2 grid, 1 anchor, 1 class; entries x, y, w, h, obj, class (activated).
    const int classes = 1, per = 5 + classes;
    std::vector<float> head(static_cast<size_t>(2 * 2 * per), 0.f);
    float* cell = head.data() + (1 * 2 + 0) * per; // row 1, col 0
    cell[0] = 0.5f; // x offset in the cell
    cell[1] = 0.25f; // y offset
    cell[2] = std::log(2.f); // w = anchor * 2
    cell[3] = 0.f; // h = anchor
    cell[4] = 0.8f; // objectness
    cell[5] = 0.5f; // class probability -> score 0.4
    SUBCASE("v2") {
      auto out = decode_yolo(head.data(), 2, 2, {1.f, 1.5f}, classes, 2, 64, 64, 0.3f);
      REQUIRE(out.size() == 1);
      CHECK(out[0].score == doctest::Approx(0.4f));
      // centre (0.5/2, 1.25/2) * 64 = (16, 40); w = 2*1/2*64 = 64, h = 1.5/2*64 = 48
      CHECK(out[0].bbox.x == doctest::Approx(16.f - 32.f));
      CHECK(out[0].bbox.y == doctest::Approx(40.f - 24.f));
      CHECK(out[0].bbox.w == doctest::Approx(64.f));
      CHECK(out[0].bbox.h == doctest::Approx(48.f));
    }
    SUBCASE("v3") {
      auto out = decode_yolo(head.data(), 2, 2, {10.f, 20.f}, classes, 3, 64, 64, 0.3f);
      REQUIRE(out.size() == 1);
      CHECK(out[0].bbox.w == doctest::Approx(20.f));
      CHECK(out[0].bbox.h == doctest::Approx(20.f));
      CHECK(out[0].bbox.x == doctest::Approx(16.f - 10.f));
    }
    SUBCASE("score = objectness x class probability, thresholded") {
      CHECK(decode_yolo(head.data(), 2, 2, {1.f, 1.f}, classes, 2, 64, 64, 0.45f).empty());
    }
  }

  // Six anchor points, three classes: a person at (40, 60) 20x40 scoring
  // 0.9, a second, overlapping guess of it (0.6, IoU 0.75), a class-2 box,
  // and three points below any threshold. Rows are (cx, cy, w, h, [obj,]
  // class scores); v8 stores the transpose and has no objectness.
  struct synthetic {
    float cx, cy, w, h, obj;
    float cls[3];
  };
  const synthetic points[6] = {{40, 60, 20, 40, 1.0f, {0.9f, 0.1f, 0.0f}},  {10, 10, 4, 4, 0.2f, {0.9f, 0.0f, 0.0f}},
                               {42, 62, 20, 40, 0.75f, {0.8f, 0.2f, 0.1f}}, {5, 5, 8, 8, 0.9f, {0.1f, 0.2f, 0.3f}},
                               {100, 30, 30, 10, 0.5f, {0.0f, 0.1f, 1.0f}}, {70, 70, 10, 10, 0.0f, {0.0f, 0.0f, 0.0f}}};

  /// Class-aware NMS over decoded boxes, as dnn_detector runs it.
  std::vector<detection> suppress(const std::vector<raw_box>& raw, float iou) {
    std::vector<detection> d;
    for (const auto& r : raw) {
      detection x;
      x.bbox = r.bbox;
      x.score = r.score;
      x.class_id = r.class_id;
      d.push_back(x);
    }
    return nms(d, iou);
  }

  TEST_CASE("YOLOv5 layout: [points, 5 + classes], score = objectness x class, then NMS") {
    std::vector<float> out;
    for (const auto& p : points) {
      out.insert(out.end(), {p.cx, p.cy, p.w, p.h, p.obj});
      out.insert(out.end(), p.cls, p.cls + 3);
    }
    auto raw = decode_yolov5(out.data(), 6, 3, 0.4f);
    REQUIRE(raw.size() == 3); // the person, its duplicate (0.75 x 0.8 = 0.6), the class-2 box (0.5)
    CHECK(raw[0].class_id == 0);
    CHECK(raw[0].score == doctest::Approx(0.9f));
    CHECK(raw[0].bbox.x == doctest::Approx(30.f));
    CHECK(raw[0].bbox.y == doctest::Approx(40.f));
    CHECK(raw[0].bbox.w == doctest::Approx(20.f));
    CHECK(raw[0].bbox.h == doctest::Approx(40.f));
    CHECK(raw[1].score == doctest::Approx(0.6f));
    CHECK(raw[2].class_id == 2);
    CHECK(raw[2].score == doctest::Approx(0.5f));
    CHECK(raw[2].bbox.x == doctest::Approx(85.f));

    auto kept = suppress(raw, 0.5f);
    REQUIRE(kept.size() == 2); // the duplicate goes; the other class stays
    CHECK(kept[0].score == doctest::Approx(0.9f));
    CHECK(kept[1].class_id == 2);
    CHECK(suppress(raw, 0.8f).size() == 3); // IoU 0.75 survives a looser NMS

    SUBCASE("the person filter") {
      auto persons = decode_yolov5(out.data(), 6, 3, 0.4f, 0);
      REQUIRE(persons.size() == 2);
      CHECK(decode_yolov5(out.data(), 6, 3, 0.4f, 2).size() == 1);
    }
    SUBCASE("low objectness drops a high class score") { CHECK(decode_yolov5(out.data(), 6, 3, 0.65f).size() == 1); }
  }

  TEST_CASE("YOLOv8 layout: [4 + classes, points] channel-major, no objectness, then NMS") {
    const int n = 6;
    std::vector<float> out(static_cast<size_t>((4 + 3) * n));
    for (int p = 0; p < n; ++p) {
      const auto& s = points[p];
      float row[7] = {s.cx, s.cy, s.w, s.h, s.cls[0], s.cls[1], s.cls[2]};
      for (int c = 0; c < 7; ++c) out[static_cast<size_t>(c * n + p)] = row[c];
    }
    auto raw = decode_yolov8(out.data(), n, 3, 0.5f);
    // without objectness point 1 (0.9) and the duplicate (0.8) count too
    REQUIRE(raw.size() == 4);
    CHECK(raw[0].bbox.x == doctest::Approx(30.f));
    CHECK(raw[0].bbox.h == doctest::Approx(40.f));
    CHECK(raw[1].bbox.x == doctest::Approx(8.f));
    CHECK(raw[1].bbox.w == doctest::Approx(4.f));
    CHECK(raw[2].score == doctest::Approx(0.8f));
    CHECK(raw[3].class_id == 2);
    CHECK(raw[3].score == doctest::Approx(1.0f));

    auto kept = suppress(raw, 0.5f);
    REQUIRE(kept.size() == 3);
    CHECK(kept[0].class_id == 2); // best first
    CHECK(kept[1].score == doctest::Approx(0.9f));
    CHECK(kept[1].bbox.x == doctest::Approx(30.f));
    CHECK(kept[2].bbox.x == doctest::Approx(8.f));

    SUBCASE("the person filter and the threshold") {
      CHECK(decode_yolov8(out.data(), n, 3, 0.5f, 0).size() == 3);
      CHECK(decode_yolov8(out.data(), n, 3, 0.95f).size() == 1);
    }
  }

} // TEST_SUITE
