// Detection quality and speed on a video with MOT ground truth:
//   eval_detector --detector nanodet --model tools/data/models/nanodet.json
//   eval_detector --detector hog | motion
// Defaults: tools/data/vtest.avi against tests/data/PETS09-S2L1-gt.txt
// (video frame n = gt frame n+1, gt rows with consider=0 ignored), every 4th
// frame, IoU >= 0.5. Prints recall, precision and ms per evaluated frame.
//   eval_detector --int8 nanodet.int8.json --from 200   int8, frames 200.. only
// (`weaver model quantize` calibrates on frames 0..199 by default: --from 200
// keeps the evaluation off the calibration frames).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "accel/detect/detector.hpp"
#include "actors/camera/video_source.hpp"
#include "tools/eval/detection_eval.hpp"

using namespace weaver;

int main(int argc, char** argv) {
  std::string kind = "nanodet", video = "tools/data/vtest.avi", gt_path = "tests/data/PETS09-S2L1-gt.txt";
  detector_options opts;
  opts.dnn.model = "tools/data/models/nanodet.json";
  int every = 4, frames = 0, from = 0;
  float min_iou = 0.5f;
  cv::Rect crop;
  std::string input, crop_text;
  CLI::App app{"Detector precision and recall against the MOT ground truth."};
  app.add_option("--detector", kind, "nanodet|darknet|hog|motion");
  app.add_option("--model", opts.dnn.model, "DNN model file");
  app.add_option("--weights", opts.dnn.weights, "Darknet weights");
  app.add_option("--threshold", opts.dnn.score_threshold, "Score threshold");
  app.add_option("--offset", opts.dnn.nanodet_offset, "NanoDet box offset");
  app.add_option("--scale", opts.dnn.input_scale, "Input scale");
  app.add_option("--input", input, "source|model|WxH");
  app.add_option("--video", video, "Video file");
  app.add_option("--gt", gt_path, "MOT ground truth");
  app.add_option("--every", every, "Evaluate every Nth frame");
  app.add_option("--frames", frames, "Frames to evaluate (0 = all)");
  app.add_option("--from", from, "First frame to evaluate (earlier ones are skipped)");
  app.add_option("--int8", opts.dnn.int8_model, "int8 file (weaver model quantize): run the DNN in int8");
  app.add_option("--iou", min_iou, "IoU for a match");
  app.add_option("--crop", crop_text, "x,y,w,h");
  CLI11_PARSE(app, argc, argv);
  if (input == "source")
    opts.dnn.input_width = opts.dnn.input_height = -1;
  else if (input == "model")
    opts.dnn.input_width = opts.dnn.input_height = 0;
  else if (!input.empty() && std::sscanf(input.c_str(), "%dx%d", &opts.dnn.input_width, &opts.dnn.input_height) != 2) {
    std::cerr << "--input: expected source, model or WxH, got '" << input << "'\n";
    return 2;
  }
  if (!crop_text.empty()
      && std::sscanf(crop_text.c_str(), "%d,%d,%d,%d", &crop.x, &crop.y, &crop.width, &crop.height) != 4) {
    std::cerr << "--crop: expected x,y,w,h, got '" << crop_text << "'\n";
    return 2;
  }
  if (!opts.dnn.int8_model.empty()) opts.dnn.precision = "int8";
  try {
    auto gt = load_mot_gt(gt_path);
    auto det = make_detector(kind, opts);
    video_source src(video);
    std::string err;
    if (!src.open(&err)) throw std::runtime_error(err);
    detection_tally t;
    double ms = 0;
    int evaluated = 0;
    cv::Mat frame;
    for (int n = 0; src.read(frame) && (frames == 0 || n < frames); ++n) {
      bool eval = n >= from && n % every == 0;
      if (!eval && kind != "motion") continue; // only motion needs every frame
      cv::Mat img = crop.area() > 0 ? frame(crop) : frame;
      auto t0 = std::chrono::steady_clock::now();
      auto dets = det->detect(img);
      double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!eval) continue;
      ms += dt;
      ++evaluated;
      std::vector<gt_box> truth;
      for (auto g : gt[n]) {
        if (crop.area() > 0) { // ground truth in crop coordinates, cut to it
          cv::Rect2f r(g.b.x - crop.x, g.b.y - crop.y, g.b.w, g.b.h);
          auto in = r & cv::Rect2f(0, 0, static_cast<float>(crop.width), static_cast<float>(crop.height));
          if (in.area() < 0.5f * r.area()) continue;
          g.b = {in.x, in.y, in.width, in.height};
        }
        truth.push_back(g);
      }
      score_detections(dets, truth, min_iou, t);
    }
    std::printf(
      "%s: %d frames (every %d), IoU >= %.2f: recall %.3f precision %.3f "
      "(tp %ld fp %ld people %ld), %.1f ms per frame\n",
      kind.c_str(), evaluated, every, min_iou, t.recall(), t.precision(), t.tp, t.fp, t.positives,
      evaluated ? ms / evaluated : 0.0);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
