#include "services/model_cli.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <random>

#include "accel/detect/detector.hpp"
#include "accel/detect/dnn_detector.hpp"
#include "accel/engine/executor.hpp"
#include "accel/engine/int8_model.hpp"
#include "accel/engine/onnx_export.hpp"
#include "actors/camera/video_source.hpp"
#include "services/config.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <nlohmann/json.hpp>

namespace weaver {

int model_inspect(const inspect_options& o) {
  using namespace engine;
  try {
    if (o.raw) {
      std::cout << describe(import_model(o.model, o.weights));
      return 0;
    }
    // The process's CPU time beside the wall clock: on a shared machine the
    // wall clock counts the time other processes hold the cores.
    auto cpu_ms_since = [](std::clock_t c0) {
      return 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    };
    auto t_load = std::chrono::steady_clock::now();
    const std::clock_t c_load = std::clock();
    auto m = model::load(o.model, o.weights, o.batch);
    double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_load).count();
    const double load_cpu = cpu_ms_since(c_load);
    std::cout << describe(m->ir());
    std::cout << "load: " << load_ms << " ms (import and passes; cpu " << load_cpu << " ms)\n";
    if (o.bench > 0) {
      auto t_session = std::chrono::steady_clock::now();
      const std::clock_t c_session = std::clock();
      // As the detector runs it: buffers shared between values whose
      // lifetimes do not overlap, only the outputs kept.
      const std::vector<std::string> keep_outputs_only;
      session s(m, o.threads, &keep_outputs_only);
      // ONNX Runtime's session creation covers this part too (kernels and
      // weight layouts): compare load + session with it.
      std::cout << "session: "
                << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_session).count()
                << " ms (buffers, oneDNN primitives and weight reorders; " << s.buffer_floats() * 4 / 1e6
                << " MB of buffers; cpu " << cpu_ms_since(c_session) << " ms)\n";
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> u(0.f, 1.f);
      std::generate(s.input(), s.input() + numel(m->input_shape()), [&] { return u(rng); });
      auto t_first = std::chrono::steady_clock::now();
      s.run(); // warm-up: what a first frame waits for after the session (caches, pages of the buffers)
      std::cout << "first run: "
                << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_first).count()
                << " ms\n";
      std::vector<double> ms, cpu;
      for (int i = 0; i < o.bench; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        s.run();
        cpu.push_back(cpu_ms_since(c0));
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::sort(cpu.begin(), cpu.end());
      std::cout << "run: batch " << o.batch << ", " << o.threads << " thread(s), " << o.bench << " runs: p50 "
                << ms[ms.size() / 2] << " ms, min " << ms.front() << " ms, "
                << "per image " << ms[ms.size() / 2] / o.batch << " ms, cpu p50 " << cpu[cpu.size() / 2] << " ms\n";
      if (o.profile) { // after the timed runs, so they are not slowed by the clock reads
        std::vector<const node*> nodes;
        std::vector<double> step_ms;
        for (int i = 0; i < o.bench; ++i) s.run_profiled(nodes, step_ms);
        std::map<std::string, double> by_op;
        double total = 0;
        for (size_t i = 0; i < nodes.size(); ++i) {
          const double mean = step_ms[i] / o.bench;
          const std::string kind = nodes[i] ? op_name(nodes[i]->kind) : "(de)quantize";
          std::cout << "step " << i << " " << kind << " " << (nodes[i] ? nodes[i]->name : "") << ": " << mean
                    << " ms\n";
          by_op[kind] += mean;
          total += mean;
        }
        for (const auto& [kind, t] : by_op)
          std::cout << "op " << kind << ": " << t << " ms (" << 100 * t / total << "%)\n";
      }
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

int model_quantize(const quantize_options& o) {
  try {
    if (o.first < 0 || o.end <= o.first || o.every < 1) throw std::invalid_argument("calibration frames: empty range");
    // The detector's own pre-processing, so calibration sees what it will run on.
    dnn_options d;
    d.kind = o.model.size() > 4 && o.model.compare(o.model.size() - 4, 4, ".cfg") == 0 ? "darknet" : "nanodet";
    d.model = o.model;
    d.weights = o.weights;
    d.input_scale = o.input_scale;
    dnn_detector det(d);
    video_source src(o.calib);
    std::string err;
    if (!src.open(&err)) throw std::runtime_error("--calib: " + err);
    cv::Mat frame;
    if (!src.read(frame)) throw std::runtime_error("--calib: no frames");
    auto m = det.compiled(frame.size());
    const auto in = m->input_shape();
    int n = 0, used = 0; // n: index of `frame`, o.end once the video ends
    auto advance = [&] { n = src.read(frame) ? n + 1 : o.end; };
    auto t = engine::calibrate(m, [&](float* input) {
      for (; n < o.end; advance())
        if (n >= o.first && (n - o.first) % o.every == 0) {
          det.fill_input(frame, input);
          ++used;
          advance();
          return true;
        }
      return false;
    });
    t.source = o.model;
    t.calibration = nlohmann::json{{"video", o.calib}, {"frames", {o.first, o.end}}, {"every", o.every},
                                   {"used", used},     {"method", "minmax"},         {"input", {in[2], in[1]}}}
                      .dump();
    engine::save_int8(t, o.out);
    std::cout << "calibrated on " << used << " frames of " << o.calib << " (" << o.first << ".." << o.end - 1
              << " every " << o.every << ", input " << in[2] << "x" << in[1] << "): " << t.convs.size()
              << " convolutions, " << t.acts.size() << " activation scales -> " << o.out << "\n";
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
