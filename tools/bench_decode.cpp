// bench_decode: decode-only speed of a video file, and of decode plus three
// column crops (ROI views into the decoded frame, no copy) as virtual cameras
// use them, to show the crops cost nothing.
// A benchmark, not a test: it prints figures.
//
// Usage: bench_decode [VIDEO]   (default: $WEAVER_SAMPLE_VIDEO, else
//                                tools/data/vtest.avi in the current directory)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

namespace {

struct result {
  uint64_t frames = 0;
  double seconds = 0;
  int width = 0, height = 0;
  uint64_t checksum = 0; // keeps the crops from being optimised away
};

// Reads every frame; with `crops` also takes three column ROIs of each.
bool run(const std::string& path, bool crops, result& r) {
  cv::VideoCapture cap{path};
  if (!cap.isOpened()) return false;
  cv::Mat frame;
  auto t0 = std::chrono::steady_clock::now();
  while (cap.read(frame)) {
    ++r.frames;
    r.width = frame.cols;
    r.height = frame.rows;
    if (crops) {
      int w = frame.cols / 3;
      for (int i = 0; i < 3; ++i) {
        cv::Mat roi = frame(cv::Rect{i * w, 0, w, frame.rows}); // a view: no pixel copy
        r.checksum += roi.at<cv::Vec3b>(roi.rows / 2, roi.cols / 2)[0] + static_cast<uint64_t>(roi.isContinuous());
      }
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return true;
}

} // namespace

int main(int argc, char** argv) {
  std::string path = "tools/data/vtest.avi";
  if (const char* env = std::getenv("WEAVER_SAMPLE_VIDEO"); env && *env) path = env;
  if (argc > 1) path = argv[1];
  if (argc > 2 || path == "-h" || path == "--help") {
    std::fprintf(stderr, "usage: %s [VIDEO]\n", argv[0]);
    return 2;
  }

  // Interleaved runs, best of `rounds` each: the machine may be shared, and
  // the fastest run is the one least disturbed by other load.
  const int rounds = 3;
  result plain, cropped;
  for (int i = 0; i < rounds; ++i) {
    result p, c;
    if (!run(path, false, p) || !run(path, true, c)) {
      std::fprintf(stderr, "bench_decode: cannot open %s\n", path.c_str());
      return 1;
    }
    if (i == 0 || p.seconds < plain.seconds) plain = p;
    if (i == 0 || c.seconds < cropped.seconds) cropped = c;
  }
  if (plain.frames == 0) {
    std::fprintf(stderr, "bench_decode: no frames in %s\n", path.c_str());
    return 1;
  }
  std::printf("bench_decode: %s (%dx%d), OpenCV %s, %d threads, best of %d runs\n", path.c_str(), plain.width,
              plain.height, CV_VERSION, cv::getNumThreads(), rounds);
  std::printf("%-30s %8s %9s %9s\n", "test", "frames", "seconds", "FPS");
  std::printf("%s\n", std::string(59, '-').c_str());
  auto line = [](const char* name, const result& r) {
    std::printf("%-30s %8lu %9.3f %9.1f\n", name, static_cast<unsigned long>(r.frames), r.seconds,
                r.seconds > 0 ? static_cast<double>(r.frames) / r.seconds : 0.0);
  };
  line("decode only", plain);
  line("decode + 3 column crops (ROI)", cropped);
  double ratio =
    (static_cast<double>(cropped.frames) / cropped.seconds) / (static_cast<double>(plain.frames) / plain.seconds);
  std::printf("crops/plain FPS ratio: %.3f (checksum %lu)\n", ratio, static_cast<unsigned long>(cropped.checksum));
  return 0;
}
