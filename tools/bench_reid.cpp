// bench_reid: the cost of cross-camera re-id assignment as the gallery of
// known people grows. People are seen on camera 1, then tracks end on camera
// 2 and are matched against everyone still in the gallery (the camera
// graph's pruning aside). Prints time per resolved track and per
// (track x candidate person) comparison. A benchmark, not a test.
//
// Usage: bench_reid [--dims D]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "actors/reid/reid_engine.hpp"

using namespace weaver;

namespace {

std::vector<float> random_unit(std::mt19937& rng, size_t dims) {
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> v(dims);
  float s = 0;
  for (auto& x : v) {
    x = n(rng);
    s += x * x;
  }
  for (auto& x : v) x /= std::sqrt(s);
  return v;
}

track_batch ended(uint32_t cam, uint64_t track, timestamp_ms start, timestamp_ms end, std::vector<float> f) {
  track_batch b;
  b.camera_id = cam;
  b.time_ms = end;
  track_event e;
  e.camera_id = cam;
  e.track_id = track;
  e.state = track_state::ended;
  e.time_ms = end;
  e.feature = std::move(f);
  track_event s = e;
  s.state = track_state::started;
  s.time_ms = start;
  b.events = {s, e};
  return b;
}

} // namespace

int main(int argc, char** argv) {
  size_t dims = 176; // the hand-crafted descriptor's length
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--dims") && i + 1 < argc) dims = static_cast<size_t>(std::atoi(argv[++i]));
  std::printf(
    "bench_reid: %zu-dim features, tracks resolved on camera 2 against a gallery of people\n"
    "seen on camera 1 (one window each); time per track and per comparison\n\n",
    dims);
  std::printf("%10s %10s %14s %18s\n", "gallery", "tracks", "us per track", "ns per comparison");
  for (size_t gallery : {100u, 1000u, 10000u}) {
    std::mt19937 rng(1);
    reid_config cfg;
    cfg.max_gap_ms = 3'600'000;
    cfg.gallery_ttl_ms = 3'600'000;
    cfg.learn_graph = false;
    reid_engine e{cfg};
    e.add_camera(1);
    e.add_camera(2);
    // The gallery: people seen on camera 1 within the last hour.
    for (size_t p = 0; p < gallery; ++p)
      e.on_tracks(ended(1, p + 1, static_cast<timestamp_ms>(p) * 10, static_cast<timestamp_ms>(p) * 10 + 5,
                        random_unit(rng, dims)));
    e.on_end_of_stream(1);
    // Camera 2's clock passes the gallery's tracks: they resolve now, untimed.
    track_batch tick;
    tick.camera_id = 2;
    tick.time_ms = 150'000;
    e.on_tracks(tick);
    const size_t tracks = 200;
    std::vector<track_batch> batches;
    for (size_t t = 0; t < tracks; ++t)
      batches.push_back(ended(2, t + 1, 200'000 + static_cast<timestamp_ms>(t) * 3000,
                              200'000 + static_cast<timestamp_ms>(t) * 3000 + 1000, random_unit(rng, dims)));
    auto t0 = std::chrono::steady_clock::now();
    size_t resolved = 0;
    for (auto& b : batches) resolved += e.on_tracks(b).identities.size();
    resolved += e.on_end_of_stream(2).identities.size();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%10zu %10zu %14.1f %18.1f\n", gallery, resolved, s * 1e6 / static_cast<double>(resolved),
                s * 1e9 / (static_cast<double>(resolved) * static_cast<double>(gallery)));
  }
  return 0;
}
