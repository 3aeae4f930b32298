#include "services/model_cli.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include "accel/detect/detector.hpp"
#include "accel/engine/executor.hpp"
#include "accel/engine/onnx_export.hpp"
#include "actors/camera/video_source.hpp"
#include "services/config.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace weaver {

int model_inspect(const inspect_options& o) {
  using namespace engine;
  try {
    if (o.raw) {
      std::cout << describe(import_model(o.model, o.weights));
      return 0;
    }
    auto m = model::load(o.model, o.weights, o.batch);
    std::cout << describe(m->ir());
    if (o.bench > 0) {
      session s(m, o.threads);
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> u(0.f, 1.f);
      std::generate(s.input(), s.input() + numel(m->input_shape()), [&] { return u(rng); });
      s.run(); // warm-up
      std::vector<double> ms;
      for (int i = 0; i < o.bench; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        s.run();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::cout << "run: batch " << o.batch << ", " << o.threads << " thread(s), " << o.bench << " runs: p50 "
                << ms[ms.size() / 2] << " ms, min " << ms.front() << " ms, "
                << "per image " << ms[ms.size() / 2] / o.batch << " ms\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

int model_export(const export_options& o) {
  using namespace engine;
  try {
    auto m = model::load(o.model, o.weights, o.batch);
    export_onnx(m->ir(), o.onnx);
    std::cout << "wrote " << o.onnx << ": " << m->ir().nodes.size() << " nodes, input " << to_string(m->input_shape())
              << " (storage order)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

int detect_command(const detect_options& o) {
  try {
    auto cfg = load_config(o.config);
    cv::Mat img;
    if (!o.image.empty()) {
      img = cv::imread(o.image, cv::IMREAD_COLOR);
      if (img.empty()) throw std::runtime_error("--image: cannot read " + o.image);
    } else {
      video_source src(o.video);
      std::string err;
      if (!src.open(&err)) throw std::runtime_error("--video: " + err);
      for (int i = 0; i <= o.frame; ++i)
        if (!src.read(img)) throw std::runtime_error("--frame: the video has only " + std::to_string(i) + " frames");
    }
    auto det = make_detector(cfg.detector.kind, detector_options_of(cfg.detector));
    auto t0 = std::chrono::steady_clock::now();
    auto dets = det->detect(img);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << cfg.detector.kind << ": " << dets.size() << " people in " << img.cols << "x" << img.rows << " (" << ms
              << " ms, first call includes model compilation)\n";
    for (const auto& d : dets) {
      std::cout << "  x " << d.bbox.x << " y " << d.bbox.y << " w " << d.bbox.w << " h " << d.bbox.h << " score "
                << d.score << "\n";
      cv::Rect r(cv::Point(static_cast<int>(d.bbox.x), static_cast<int>(d.bbox.y)),
                 cv::Size(static_cast<int>(d.bbox.w), static_cast<int>(d.bbox.h)));
      cv::rectangle(img, r, cv::Scalar(0, 255, 0), 2);
      char label[16];
      std::snprintf(label, sizeof label, "%.2f", d.score);
      cv::putText(img, label, r.tl() + cv::Point(2, 12), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 255, 0), 1);
    }
    if (!cv::imwrite(o.out, img)) throw std::runtime_error("--out: cannot write " + o.out);
    std::cout << "wrote " << o.out << "\n";
    return 0;
  } catch (const config_error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

} // namespace weaver
