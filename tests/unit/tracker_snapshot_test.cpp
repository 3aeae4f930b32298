// A tracker restored from a snapshot continues exactly as the original:
// same events, same ids, for SORT and Deep SORT.
#include <doctest/doctest.h>

#include <random>

#include "actors/tracker/camera_tracker.hpp"

using namespace weaver;

namespace {

// Three people walking across, with appearance, one frame per 100 ms.
std::vector<detection_batch> walk(int frames) {
  std::vector<detection_batch> out;
  std::mt19937 rng(3);
  std::normal_distribution<float> jitter(0.f, 1.5f);
  for (int f = 0; f < frames; ++f) {
    detection_batch b;
    b.camera_id = 7;
    b.seq = static_cast<uint64_t>(f);
    b.capture_ms = 1000 + f * 100;
    for (int p = 0; p < 3; ++p) {
      if ((f + p * 7) % 17 == 0) continue; // a missed detection now and then
      detection d;
      d.bbox = {20.f + 6.f * f + 60.f * p + jitter(rng), 50.f + 40.f * p + jitter(rng), 30, 80};
      d.score = 0.9f;
      d.feature.assign(4, 0.f);
      d.feature[static_cast<size_t>(p)] = 1.f;
      b.detections.push_back(d);
    }
    out.push_back(std::move(b));
  }
  return out;
}

bool same(const track_batch& a, const track_batch& b) {
  if (a.events.size() != b.events.size()) return false;
  for (size_t i = 0; i < a.events.size(); ++i) {
    const auto &x = a.events[i], &y = b.events[i];
    if (x.track_id != y.track_id || x.state != y.state || x.time_ms != y.time_ms || x.bbox.x != y.bbox.x
        || x.feature != y.feature)
      return false;
  }
  return true;
}

} // namespace

TEST_CASE("tracker snapshots: a restored tracker continues identically") {
  for (auto kind : {"sort", "deepsort"}) {
    CAPTURE(kind);
    auto frames = walk(60);
    auto whole = make_camera_tracker(kind, 7, {}, {});
    std::vector<track_batch> expected;
    for (auto& b : frames) expected.push_back(whole->update(b));
    expected.push_back(whole->flush(7000));

    auto first = make_camera_tracker(kind, 7, {}, {});
    std::vector<track_batch> got;
    for (int f = 0; f < 30; ++f) got.push_back(first->update(frames[static_cast<size_t>(f)]));
    auto snap = first->snapshot();
    auto second = make_camera_tracker(kind, 7, {}, {});
    second->restore(snap);
    CHECK(second->active() == first->active());
    for (size_t f = 30; f < frames.size(); ++f) got.push_back(second->update(frames[f]));
    got.push_back(second->flush(7000));
    REQUIRE(got.size() == expected.size());
    int events = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      CHECK(same(got[i], expected[i]));
      events += static_cast<int>(got[i].events.size());
    }
    CHECK(events > 100);
    // A snapshot of the other kind or garbage is refused.
    auto other = make_camera_tracker(std::string(kind) == "sort" ? "deepsort" : "sort", 7, {}, {});
    CHECK_THROWS(other->restore(snap));
    CHECK_THROWS(other->restore("{"));
  }
}
