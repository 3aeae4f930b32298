// Detection quality and speed on a video with MOT ground truth:
//   eval_detector --detector nanodet --model tools/data/models/nanodet.json
//   eval_detector --detector hog | motion
// Defaults: tools/data/vtest.avi against tests/data/PETS09-S2L1-gt.txt
// (video frame n = gt frame n+1, gt rows with consider=0 ignored), every 4th
// frame, IoU >= 0.5. Prints recall, precision and ms per evaluated frame.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "actors/camera/video_source.hpp"
#include "actors/detector/detection_eval.hpp"
#include "actors/detector/detector.hpp"

using namespace weaver;

namespace {

void usage() {
  std::cerr << "usage: eval_detector [--detector nanodet|darknet|hog|motion] [--model FILE]\n"
               "  [--weights FILE] [--input source|model|WxH] [--scale S] [--threshold T] [--video FILE]\n"
               "  [--gt FILE] [--every N] [--frames N] [--iou X] [--crop x,y,w,h]\n";
  std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
  std::string kind = "nanodet", video = "tools/data/vtest.avi", gt_path = "tests/data/PETS09-S2L1-gt.txt";
  detector_options opts;
  opts.dnn.model = "tools/data/models/nanodet.json";
  int every = 4, frames = 0;
  float min_iou = 0.5f;
  cv::Rect crop;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--detector") kind = next();
    else if (a == "--model") opts.dnn.model = next();
    else if (a == "--weights") opts.dnn.weights = next();
    else if (a == "--threshold") opts.dnn.score_threshold = std::stof(next());
    else if (a == "--offset") opts.dnn.nanodet_offset = std::stof(next());
    else if (a == "--scale") opts.dnn.input_scale = std::stof(next());
    else if (a == "--input") {
      auto v = next();
      if (v == "source") opts.dnn.input_width = opts.dnn.input_height = -1;
      else if (v == "model") opts.dnn.input_width = opts.dnn.input_height = 0;
      else if (std::sscanf(v.c_str(), "%dx%d", &opts.dnn.input_width, &opts.dnn.input_height) != 2) usage();
    } else if (a == "--video") video = next();
    else if (a == "--gt") gt_path = next();
    else if (a == "--every") every = std::stoi(next());
    else if (a == "--frames") frames = std::stoi(next());
    else if (a == "--iou") min_iou = std::stof(next());
    else if (a == "--crop") {
      if (std::sscanf(next().c_str(), "%d,%d,%d,%d", &crop.x, &crop.y, &crop.width, &crop.height) != 4) usage();
    } else usage();
  }
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
      bool eval = n % every == 0;
      if (!eval && kind != "motion") continue;  // only motion needs every frame
      cv::Mat img = crop.area() > 0 ? frame(crop) : frame;
      auto t0 = std::chrono::steady_clock::now();
      auto dets = det->detect(img);
      double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!eval) continue;
      ms += dt;
      ++evaluated;
      std::vector<gt_box> truth;
      for (auto g : gt[n]) {
        if (crop.area() > 0) {  // ground truth in crop coordinates, cut to it
          cv::Rect2f r(g.b.x - crop.x, g.b.y - crop.y, g.b.w, g.b.h);
          auto in = r & cv::Rect2f(0, 0, static_cast<float>(crop.width), static_cast<float>(crop.height));
          if (in.area() < 0.5f * r.area()) continue;
          g.b = {in.x, in.y, in.width, in.height};
        }
        truth.push_back(g);
      }
      score_detections(dets, truth, min_iou, t);
    }
    std::printf("%s: %d frames (every %d), IoU >= %.2f: recall %.3f precision %.3f "
                "(tp %ld fp %ld people %ld), %.1f ms per frame\n",
                kind.c_str(), evaluated, every, min_iou, t.recall(), t.precision(), t.tp, t.fp,
                t.positives, evaluated ? ms / evaluated : 0.0);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
