// bench_tracker: frames per second of one camera's tracker alone (Deep SORT
// and SORT), on a synthetic scene with ~20 people per frame.
//
// People (boxes 40-70 x 100-170 px) walk at 1-6 px per frame in a 1280x720
// frame and turn back at its borders, so they keep crossing one another;
// 8% of their detections are missed and one clutter box appears every
// other frame. Each person has a random unit appearance vector (144 floats,
// the hand-crafted descriptor's size) seen through Gaussian noise. Every
// frame's detection batch is generated before the clock starts, so only
// `update` is timed. Deep SORT runs with its default configuration (gallery
// of 100 features per track), once with and once without appearance.
// A benchmark, not a test: it prints figures.
//
// Usage: bench_tracker [--frames N] [--people P] [--dim D] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "actors/tracker/deep_sort.hpp"
#include "actors/tracker/sort_tracker.hpp"

using namespace weaver;

namespace {

struct options {
  int frames = 3000;
  int people = 20;
  int dim = 144;
  int repeat = 3;
};

std::vector<detection_batch> make_scene(const options& o, bool features) {
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::normal_distribution<float> n01(0.f, 1.f);
  constexpr float width = 1280, height = 720;
  struct person {
    box b;
    float vx, vy;
    std::vector<float> look;
  };
  auto unit = [&](std::vector<float> v) {
    double s = 0;
    for (float x : v) s += static_cast<double>(x) * x;
    for (auto& x : v) x = static_cast<float>(x / std::sqrt(s));
    return v;
  };
  std::vector<person> people;
  for (int i = 0; i < o.people; ++i) {
    person p;
    p.b.h = 100 + 70 * u(rng);
    p.b.w = p.b.h * (0.35f + 0.1f * u(rng));
    p.b.x = u(rng) * (width - p.b.w);
    p.b.y = u(rng) * (height - p.b.h);
    float speed = 1 + 5 * u(rng), angle = 6.2832f * u(rng);
    p.vx = speed * std::cos(angle);
    p.vy = 0.4f * speed * std::sin(angle);
    std::vector<float> look(static_cast<size_t>(o.dim));
    for (auto& x : look) x = std::abs(n01(rng)); // histogram-like: non-negative
    p.look = unit(look);
    people.push_back(std::move(p));
  }
  std::vector<detection_batch> out;
  out.reserve(static_cast<size_t>(o.frames));
  for (int f = 0; f < o.frames; ++f) {
    detection_batch b;
    b.camera_id = 1;
    b.seq = static_cast<uint64_t>(f);
    b.capture_ms = 100LL * f;
    b.width = static_cast<int>(width);
    b.height = static_cast<int>(height);
    for (auto& p : people) {
      p.b.x += p.vx;
      p.b.y += p.vy;
      if (p.b.x < 0 || p.b.x + p.b.w > width) p.vx = -p.vx;
      if (p.b.y < 0 || p.b.y + p.b.h > height) p.vy = -p.vy;
      if (u(rng) < 0.08f) continue; // missed
      detection d;
      d.bbox = {p.b.x + 2 * n01(rng), p.b.y + 2 * n01(rng), p.b.w * (1 + 0.03f * n01(rng)),
                p.b.h * (1 + 0.03f * n01(rng))};
      d.score = 0.5f + 0.5f * u(rng);
      if (features) {
        d.feature = p.look;
        for (auto& x : d.feature) x = std::max(0.f, x + 0.02f * n01(rng));
        d.feature = unit(d.feature);
      }
      b.detections.push_back(std::move(d));
    }
    if (f % 2 == 0) { // clutter
      detection d;
      d.bbox = {u(rng) * (width - 60), u(rng) * (height - 150), 60, 150};
      d.score = 0.5f;
      if (features) {
        d.feature.resize(static_cast<size_t>(o.dim));
        for (auto& x : d.feature) x = std::abs(n01(rng));
        d.feature = unit(d.feature);
      }
      b.detections.push_back(std::move(d));
    }
    out.push_back(std::move(b));
  }
  return out;
}

template <class Tracker>
void run(const char* name, const options& o, const std::vector<detection_batch>& scene, Tracker make()) {
  double best = 0;
  uint64_t tracks = 0, events = 0;
  size_t dets = 0;
  for (const auto& b : scene) dets += b.detections.size();
  for (int r = 0; r < o.repeat; ++r) {
    Tracker t = make();
    events = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& b : scene) events += t.update(b).events.size();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, scene.size() / s);
    tracks = t.tracks_started();
  }
  std::printf("%-34s %9.0f frames/s  %7.1f us/frame  (%.1f detections/frame, %llu tracks, %llu events)\n", name, best,
              1e6 / best, static_cast<double>(dets) / scene.size(), static_cast<unsigned long long>(tracks),
              static_cast<unsigned long long>(events));
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return std::strcmp(argv[i], name) == 0 && i + 1 < argc; };
    if (arg("--frames"))
      o.frames = std::atoi(argv[++i]);
    else if (arg("--people"))
      o.people = std::atoi(argv[++i]);
    else if (arg("--dim"))
      o.dim = std::atoi(argv[++i]);
    else if (arg("--repeat"))
      o.repeat = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_tracker [--frames N] [--people P] [--dim D] [--repeat R]\n");
      return 2;
    }
  }
  if (o.frames < 1 || o.people < 1 || o.dim < 1 || o.repeat < 1) {
    std::fprintf(stderr, "bench_tracker: all options must be positive\n");
    return 2;
  }
  std::printf("bench_tracker: %d frames, %d people, appearance %d floats, best of %d runs\n", o.frames, o.people, o.dim,
              o.repeat);
  auto with = make_scene(o, true);
  run<deep_sort>("deep_sort (appearance, budget 100)", o, with, [] { return deep_sort(1); });
  auto without = make_scene(o, false);
  run<deep_sort>("deep_sort (no appearance)", o, without, [] { return deep_sort(1); });
  run<sort_tracker>("sort_tracker", o, without, [] { return sort_tracker(1); });
  return 0;
}
