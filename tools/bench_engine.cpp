// bench_engine: inference latency of Weaver's engine against OpenCV DNN
// (DNN_BACKEND_OPENCV, DNN_TARGET_CPU) on the same Darknet network at its
// cfg size, same weights, same input, same thread count. Without --weights
// the tool writes random weights in Darknet's file format itself (speed does
// not depend on the values; they are scaled so activations stay O(1) and no
// denormals appear). With --model (a TF.js model.json) it times Weaver alone.
// With --int8 FILE (from `weaver model quantize`) it times the same model in
// float32 and in int8, alternating, at --input WxH (default the model's size).
// A benchmark, not a test: it prints figures (median and best ms per image).
//
// Usage: bench_engine --cfg NET.cfg [--weights NET.weights] [--runs 20] [--threads 1]
//        bench_engine --model MODEL.json [--runs 20] [--threads 1]
//        bench_engine --model MODEL.json --int8 FILE [--int8-exact false] [--input 576x448] [--runs 20]
//                     [--threads 1] [--profile true]
// --int8-exact true times the weaver_dnn kernel's integer requantization (s32
// sums requantized in fixed point) instead of oneDNN's fused one.
// --profile true then prints each engine session's mean ms per kind of step
// (conv, add, (de)quantize, ...), measured in separate runs after the timed
// ones so the clock reads do not slow them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "accel/engine/executor.hpp"
#include "accel/engine/int8_model.hpp"

namespace fs = std::filesystem;
using namespace weaver::engine;

namespace {

struct options {
  std::string cfg, weights, model, int8;
  int runs = 20, threads = 1, width = 0, height = 0;
  bool exact = false; // --int8-exact: the weaver_dnn kernel's integer requantization
  bool profile = false; // --profile: time per kind of step, after the timed runs
};

[[noreturn]] void usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s --cfg NET.cfg [--weights NET.weights] [--runs N] [--threads N]\n"
               "       %s --model MODEL.json [--int8 FILE [--int8-exact true|false]] [--input WxH] [--runs N]\n"
               "          [--threads N] [--profile true]\n",
               prog, prog);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; i += 2) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help" || i + 1 >= argc) usage(argv[0]);
    std::string v = argv[i + 1];
    auto positive = [&] {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n < 1 || n > 100000) usage(argv[0]);
      return static_cast<int>(n);
    };
    if (a == "--cfg")
      o.cfg = v;
    else if (a == "--weights")
      o.weights = v;
    else if (a == "--model")
      o.model = v;
    else if (a == "--int8")
      o.int8 = v;
    else if (a == "--int8-exact") {
      if (v != "true" && v != "false") usage(argv[0]);
      o.exact = v == "true";
    } else if (a == "--profile") {
      if (v != "true" && v != "false") usage(argv[0]);
      o.profile = v == "true";
    } else if (a == "--input") {
      if (std::sscanf(v.c_str(), "%dx%d", &o.width, &o.height) != 2 || o.width < 32 || o.height < 32) usage(argv[0]);
    } else if (a == "--runs")
      o.runs = positive();
    else if (a == "--threads")
      o.threads = positive();
    else
      usage(argv[0]);
  }
  if (o.cfg.empty() == o.model.empty() || (!o.int8.empty() && o.model.empty())) usage(argv[0]);
  return o;
}

// ---- random Darknet weights ----
// The file: int32 major=0, minor=2, revision=0, uint64 seen=0, then for each
// convolutional layer in cfg order: biases[n], (scales[n], rolling_mean[n],
// rolling_variance[n] if batch_normalize), weights[n * c/groups * size^2].
// Only the layer types Weaver imports are handled; the channel count of each
// layer's output is tracked to size the next convolution's filters.

struct cfg_section {
  std::string type;
  std::map<std::string, std::string> kv;
  int get(const std::string& k, int dflt) const {
    auto it = kv.find(k);
    return it == kv.end() ? dflt : std::stoi(it->second);
  }
};

std::vector<cfg_section> read_cfg(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<cfg_section> secs;
  std::string line;
  auto strip = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t\r"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  while (std::getline(in, line)) {
    line = strip(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      secs.push_back({line.substr(1, line.find(']') - 1), {}});
    } else if (auto eq = line.find('='); eq != std::string::npos && !secs.empty()) {
      secs.back().kv[strip(line.substr(0, eq))] = strip(line.substr(eq + 1));
    }
  }
  if (secs.empty()) throw std::runtime_error(path + ": no sections");
  return secs;
}

/// Writes random weights for `cfg` to `path`; returns the float count.
size_t write_random_weights(const std::string& cfg, const std::string& path) {
  auto secs = read_cfg(cfg);
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error("cannot write " + path);
  const int32_t header[3] = {0, 2, 0};
  const uint64_t seen = 0;
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(reinterpret_cast<const char*>(&seen), sizeof seen);
  std::mt19937 rng(1234);
  size_t total = 0;
  auto put = [&](size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
    total += n;
  };
  std::vector<int> channels; // output channels per layer
  int c = secs[0].get("channels", 3);
  for (size_t k = 1; k < secs.size(); ++k) {
    const auto& s = secs[k];
    const int index = static_cast<int>(k) - 1;
    if (s.type == "convolutional" || s.type == "conv") {
      const int n = s.get("filters", 1), size = s.get("size", 1), groups = s.get("groups", 1);
      const size_t fan_in = static_cast<size_t>(c / groups) * size * size;
      put(static_cast<size_t>(n), -0.1f, 0.1f); // biases
      if (s.get("batch_normalize", 0)) {
        put(static_cast<size_t>(n), 0.5f, 1.5f); // scales
        put(static_cast<size_t>(n), -0.1f, 0.1f); // rolling mean
        put(static_cast<size_t>(n), 0.5f, 1.5f); // rolling variance
      }
      const float a = std::min(0.1f, std::sqrt(3.0f / static_cast<float>(fan_in)));
      put(static_cast<size_t>(n) * fan_in, -a, a);
      c = n;
    } else if (s.type == "route") {
      std::stringstream ss(s.kv.count("layers") ? s.kv.at("layers") : "");
      std::string tok;
      c = 0;
      while (std::getline(ss, tok, ',')) {
        int l = std::stoi(tok);
        if (l < 0) l += index;
        if (l < 0 || l >= index) throw std::runtime_error("route to layer " + tok + " out of range");
        c += channels[static_cast<size_t>(l)];
      }
    } else if (s.type == "reorg") {
      c *= s.get("stride", 1) * s.get("stride", 1);
    } else if (s.type != "maxpool" && s.type != "max" && s.type != "upsample" && s.type != "shortcut"
               && s.type != "region" && s.type != "yolo" && s.type != "dropout") {
      throw std::runtime_error("layer " + std::to_string(index) + " [" + s.type
                               + "]: the random-weight writer does not handle this type");
    }
    channels.push_back(c);
  }
  if (!out) throw std::runtime_error("write failed: " + path);
  return total;
}

// ---- timing ----

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct stats {
  double median = 0, best = 0;
};

stats summarise(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  size_t n = t.size();
  return {n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2, t.front()};
}

double conv_gflop(const model& m) {
  double f = 0;
  const auto& g = m.ir();
  for (const auto& n : g.nodes)
    if (n.kind == op::conv2d) {
      const auto& o = g.values[n.out[0]].shape; // NHWC
      const auto& w = g.values[n.in[1]].shape; // HWIO (I per group)
      f += 2.0 * static_cast<double>(numel(o)) * static_cast<double>(w[0] * w[1] * w[2]);
    }
  return f / 1e9;
}

/// The "Parallel framework:" line of OpenCV's build information.
std::string parallel_framework() {
  const std::string info = cv::getBuildInformation(), key = "Parallel framework:";
  auto at = info.find(key);
  if (at == std::string::npos) return "?";
  auto line = info.substr(at + key.size(), info.find('\n', at) - at - key.size());
  line.erase(0, line.find_first_not_of(' '));
  return line;
}

void fill_random(float* p, size_t n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (size_t i = 0; i < n; ++i) p[i] = u(rng);
}

/// Mean ms per kind of step over `runs` profiled runs, largest first.
void profile(const std::string& name, session& s, int runs) {
  std::vector<const node*> nodes;
  std::vector<double> ms;
  s.run(); // the other session has just evicted this one from the caches
  for (int i = 0; i < runs; ++i) s.run_profiled(nodes, ms);
  std::map<std::string, double> by_kind;
  double total = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const double mean = ms[i] / runs;
    by_kind[nodes[i] ? op_name(nodes[i]->kind) : "(de)quantize"] += mean;
    total += mean;
  }
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [kind, t] : by_kind) order.emplace_back(t, kind);
  std::sort(order.rbegin(), order.rend());
  std::printf("profile %s: %.2f ms per run (mean of %d)\n", name.c_str(), total, runs);
  for (const auto& [t, kind] : order) std::printf("  %-16s %8.2f ms %5.1f%%\n", kind.c_str(), t, 100 * t / total);
}

} // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  const bool darknet = !o.cfg.empty();
  std::string weights = o.weights, temp;
  try {
    if (darknet && weights.empty()) {
      temp = (fs::temp_directory_path() / ("bench_engine-" + std::to_string(::getpid()) + ".weights")).string();
      size_t floats = write_random_weights(o.cfg, temp);
      weights = temp;
      std::printf("random weights: %zu floats -> %s\n", floats, temp.c_str());
    }
    auto m = model::load(darknet ? o.cfg : o.model, weights, 1, o.height, o.width);
    session s(m, o.threads);
    const shape_t in_shape = m->input_shape(); // NHWC
    const size_t in_n = static_cast<size_t>(numel(in_shape));
    fill_random(s.input(), in_n);
    std::unique_ptr<session> s8;
    if (!o.int8.empty()) {
      s8 = std::make_unique<session>(with_int8(m, std::make_shared<int8_table>(load_int8(o.int8)), o.exact), o.threads);
      std::copy(s.input(), s.input() + in_n, s8->input());
    }
    const double gflop = conv_gflop(*m);

    // OpenCV reads the same files; its blob is NCHW.
    cv::dnn::Net net;
    cv::Mat blob;
    std::vector<cv::String> out_names;
    if (darknet) {
      cv::setNumThreads(o.threads);
      net = cv::dnn::readNetFromDarknet(o.cfg, weights);
      net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
      const int H = static_cast<int>(in_shape[1]), W = static_cast<int>(in_shape[2]), C = static_cast<int>(in_shape[3]);
      int dims[4] = {1, C, H, W};
      blob.create(4, dims, CV_32F);
      const float* src = s.input();
      float* dst = blob.ptr<float>();
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          for (int c = 0; c < C; ++c) dst[(c * H + y) * W + x] = src[(y * W + x) * C + c];
      out_names = net.getUnconnectedOutLayersNames();
    }
    if (!temp.empty()) fs::remove(temp); // both engines hold their copy now

    std::vector<cv::Mat> outs;
    auto run_weaver = [&] {
      double t0 = now_ms();
      s.run();
      return now_ms() - t0;
    };
    auto run_opencv = [&] {
      double t0 = now_ms();
      if (s8) {
        s8->run();
        return now_ms() - t0;
      }
      net.setInput(blob);
      net.forward(outs, out_names);
      return now_ms() - t0;
    };
    const bool other = darknet || s8;
    // Warm-up (OpenCV allocates and fuses on its first forward), then
    // alternating blocks of runs, so both see the same machine load but
    // neither runs while the other's idle workers still spin (OpenMP for
    // oneDNN, TBB for OpenCV). Each block starts with an untimed run: the
    // other engine has just evicted this one's weights from the caches.
    for (int i = 0; i < 2; ++i) {
      run_weaver();
      if (other) run_opencv();
    }
    std::vector<double> tw, to;
    const int block = 5;
    for (int done = 0; done < o.runs; done += block) {
      const int k = std::min(block, o.runs - done);
      run_weaver();
      for (int i = 0; i < k; ++i) tw.push_back(run_weaver());
      if (!other) continue;
      run_opencv();
      for (int i = 0; i < k; ++i) to.push_back(run_opencv());
    }

    std::printf("bench_engine: %s, input %s (NHWC), %.2f GFLOP in convolutions, %d thread(s), %d runs%s\n",
                darknet ? o.cfg.c_str() : o.model.c_str(), to_string(in_shape).c_str(), gflop, o.threads, o.runs,
                darknet && o.weights.empty() ? ", random weights" : "");
    std::printf("%-24s %10s %10s %10s\n", "engine", "median ms", "best ms", "GFLOP/s");
    std::printf("%s\n", std::string(57, '-').c_str());
    auto line = [&](const std::string& name, const stats& st) {
      std::printf("%-24s %10.2f %10.2f %10.1f\n", name.c_str(), st.median, st.best, gflop / (st.median / 1e3));
    };
    stats w = summarise(tw);
    line(s8 ? "weaver f32 (oneDNN)" : "weaver (oneDNN)", w);
    if (s8) {
      stats c = summarise(to);
      line(o.exact ? "weaver int8 exact" : "weaver int8 (oneDNN)", c);
      std::printf("speed-up int8 over f32 (median): %.2fx\n", w.median / c.median);
    } else if (darknet) {
      stats c = summarise(to);
      line(std::string("opencv ") + CV_VERSION + " dnn", c);
      std::printf("ratio weaver/opencv (median): %.3f  (OpenCV: %d threads, parallel framework %s)\n",
                  w.median / c.median, cv::getNumThreads(), parallel_framework().c_str());
    }
    if (o.profile) {
      profile("weaver f32", s, o.runs);
      if (s8) profile(o.exact ? "weaver int8 exact" : "weaver int8", *s8, o.runs);
    }
  } catch (const std::exception& e) {
    if (!temp.empty()) fs::remove(temp);
    std::fprintf(stderr, "bench_engine: %s\n", e.what());
    return 1;
  }
  return 0;
}
