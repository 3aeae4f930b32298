// bench_reid: the cost of cross-camera re-id assignment as the gallery of
// known people grows. People are seen on camera 1, then tracks end on camera
// 2 and are matched against everyone still in the gallery (the camera
// graph's pruning aside). Prints time per resolved track and per
// (track x candidate person) comparison. A benchmark, not a test.
//
// With --updates N each camera-2 track also sends N updated events (one per
// 100 ms frame, each with a feature), and with --live the batches also go
// through live_identity as the re-id actor drives it beside a live view
// (provisional person ids for open tracks), so the two runs give the cost
// the live ids add per track.
//
// Usage: bench_reid [--dims D] [--updates N] [--live] [--metric FILE]
// (--metric: re-id maps every track's D-long descriptor by the learnt
// metric first, reid.metric, and compares the shorter result)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "actors/reid/live_identity.hpp"
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

track_event event_of(uint32_t cam, uint64_t track, track_state state, timestamp_ms t, std::vector<float> f) {
  track_event e;
  e.camera_id = cam;
  e.track_id = track;
  e.state = state;
  e.time_ms = t;
  e.feature = std::move(f);
  return e;
}

track_batch ended(uint32_t cam, uint64_t track, timestamp_ms start, timestamp_ms end, std::vector<float> f) {
  track_batch b;
  b.camera_id = cam;
  b.time_ms = end;
  b.events = {event_of(cam, track, track_state::started, start, f), event_of(cam, track, track_state::ended, end, f)};
  return b;
}

// A track's batches: started, `updates` updated events 100 ms apart (each
// with a feature near `f`), ended.
std::vector<track_batch> track_batches(uint32_t cam, uint64_t track, timestamp_ms start, int updates,
                                       const std::vector<float>& f) {
  std::vector<track_batch> out;
  auto batch = [&](track_state state, timestamp_ms t) {
    track_batch b;
    b.camera_id = cam;
    b.time_ms = t;
    b.events = {event_of(cam, track, state, t, f)};
    out.push_back(std::move(b));
  };
  batch(track_state::started, start);
  for (int u = 1; u <= updates; ++u) batch(track_state::updated, start + u * 100);
  batch(track_state::ended, start + updates * 100);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  size_t dims = 176; // the hand-crafted descriptor's length
  int updates = 0;
  bool live = false;
  std::string metric_file;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--metric") && i + 1 < argc) metric_file = argv[++i];
    if (!std::strcmp(argv[i], "--dims") && i + 1 < argc) dims = static_cast<size_t>(std::atoi(argv[++i]));
    if (!std::strcmp(argv[i], "--updates") && i + 1 < argc) updates = std::max(0, std::atoi(argv[++i]));
    if (!std::strcmp(argv[i], "--live")) live = true;
  }
  appearance_metric metric;
  if (!metric_file.empty()) {
    try {
      metric = appearance_metric::load(metric_file);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_reid: %s\n", e.what());
      return 2;
    }
    dims = metric.input_dims();
  }
  std::printf(
    "bench_reid: %zu-dim features%s, tracks resolved on camera 2 against a gallery of people\n"
    "seen on camera 1 (one window each); time per track and per comparison\n"
    "%d updates per track, live ids %s\n\n",
    dims, metric.empty() ? "" : (" mapped to " + std::to_string(metric.output_dims()) + " by the metric").c_str(),
    updates, live ? "on" : "off");
  std::printf("%10s %10s %14s %18s %12s\n", "gallery", "tracks", "us per track", "ns per comparison", "live scans");
  for (size_t gallery : {100u, 1000u, 10000u}) {
    std::mt19937 rng(1);
    reid_config cfg;
    cfg.max_gap_ms = 3'600'000;
    cfg.gallery_ttl_ms = 3'600'000;
    cfg.learn_graph = false;
    cfg.metric = metric;
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
    for (size_t t = 0; t < tracks; ++t) {
      const timestamp_ms start = 200'000 + static_cast<timestamp_ms>(t) * 3000;
      if (updates == 0) {
        batches.push_back(ended(2, t + 1, start, start + 1000, random_unit(rng, dims)));
        continue;
      }
      for (auto& b : track_batches(2, t + 1, start, updates, random_unit(rng, dims))) batches.push_back(std::move(b));
    }
    live_identity ids;
    const live_identity::matcher match = [&e](uint32_t c, uint64_t t, const std::vector<float>& f) {
      return e.open_match(c, t, f);
    };
    auto t0 = std::chrono::steady_clock::now();
    size_t resolved = 0;
    for (auto& b : batches) {
      const uint64_t people = e.people();
      auto pb = e.on_tracks(b);
      if (live) {
        ids.on_tracks(b, match, people);
        ids.on_final(pb.identities);
      }
      resolved += pb.identities.size();
    }
    resolved += e.on_end_of_stream(2).identities.size();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%10zu %10zu %14.1f %18.1f %12llu\n", gallery, resolved, s * 1e6 / static_cast<double>(resolved),
                s * 1e9 / (static_cast<double>(resolved) * static_cast<double>(gallery)),
                static_cast<unsigned long long>(ids.stats().matches));
  }
  return 0;
}
