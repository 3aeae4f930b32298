#include "actors/tracker/sort_tracker.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>

using namespace weaver;

namespace {

constexpr timestamp_ms sort_t0 = 1'700'000'000'000;
constexpr timestamp_ms sort_dt = 40; // 25 fps

detection_batch sort_frame(uint64_t seq, std::vector<detection> dets) {
  detection_batch b;
  b.camera_id = 3;
  b.seq = seq;
  b.capture_ms = sort_t0 + static_cast<timestamp_ms>(seq) * sort_dt;
  b.width = 640;
  b.height = 480;
  b.detections = std::move(dets);
  return b;
}

detection sort_det(float x, float y, std::vector<float> feature = {}) {
  detection d;
  d.bbox = {x, y, 40, 100};
  d.score = 0.9f;
  d.feature = std::move(feature);
  return d;
}

size_t count_state(const track_batch& b, track_state s) {
  size_t n = 0;
  for (const auto& e : b.events) n += e.state == s;
  return n;
}

} // namespace

TEST_SUITE("sort_tracker") {
  TEST_CASE("confirms after min_hits and reports the first detection time") {
    sort_tracker trk(3);
    CHECK(trk.update(sort_frame(0, {sort_det(100, 100)})).events.empty());
    CHECK(trk.update(sort_frame(1, {sort_det(102, 100)})).events.empty());
    auto b = trk.update(sort_frame(2, {sort_det(104, 100)}));
    CHECK(b.camera_id == 3);
    CHECK(b.seq == 2);
    CHECK(b.time_ms == sort_t0 + 2 * sort_dt);
    REQUIRE(b.events.size() == 1);
    const auto& e = b.events[0];
    CHECK(e.state == track_state::started);
    CHECK(e.track_id == 1);
    CHECK(e.camera_id == 3);
    CHECK(e.time_ms == sort_t0);
    CHECK(e.frame_seq == 0);
    CHECK(e.bbox == box{104, 100, 40, 100});
    auto u = trk.update(sort_frame(3, {sort_det(106, 100)}));
    REQUIRE(u.events.size() == 1);
    CHECK(u.events[0].state == track_state::updated);
    CHECK(u.events[0].time_ms == sort_t0 + 3 * sort_dt);
    CHECK(trk.active() == 1);
    CHECK(trk.tracks_started() == 1);
  }

  TEST_CASE("two people crossing keep their ids") {
    sort_tracker trk(3);
    std::map<uint64_t, char> who; // track id -> person
    for (uint64_t f = 0; f < 40; ++f) {
      float xa = 10.f + 10.f * f, xb = 400.f - 10.f * f; // cross near f = 19
      auto a = sort_det(xa, 100, {1, 0});
      auto b = sort_det(xb, 130, {0, 1});
      // Alternate the detection order so the index carries no information.
      auto batch = trk.update(f % 2 ? sort_frame(f, {a, b}) : sort_frame(f, {b, a}));
      for (const auto& e : batch.events) {
        char person = e.feature[0] > 0.5f ? 'a' : 'b';
        if (e.state == track_state::started)
          who[e.track_id] = person;
        else
          CHECK(who.at(e.track_id) == person);
      }
    }
    CHECK(who.size() == 2);
    CHECK(trk.tracks_started() == 2);
    CHECK(trk.active() == 2);
  }

  TEST_CASE("short gaps keep the track, long gaps end it") {
    sort_config cfg;
    cfg.max_age = 5;
    sort_tracker trk(3, cfg);
    uint64_t f = 0;
    float x = 100;
    auto step = [&](bool seen) {
      x += 5;
      auto b = trk.update(sort_frame(f++, seen ? std::vector<detection>{sort_det(x, 100)} : std::vector<detection>{}));
      return b;
    };
    for (int i = 0; i < 6; ++i) step(true);
    for (int i = 0; i < 5; ++i) // max_age missed frames: still alive
      CHECK(step(false).events.empty());
    auto back = step(true);
    REQUIRE(back.events.size() == 1);
    CHECK(back.events[0].state == track_state::updated);
    CHECK(back.events[0].track_id == 1);
    uint64_t last_seen = f - 1;
    timestamp_ms last_ms = sort_t0 + static_cast<timestamp_ms>(last_seen) * sort_dt;
    box last_box{x, 100, 40, 100};
    for (int i = 0; i < 5; ++i) CHECK(step(false).events.empty());
    auto gone = step(false); // the sixth miss exceeds max_age
    REQUIRE(gone.events.size() == 1);
    CHECK(gone.events[0].state == track_state::ended);
    CHECK(gone.events[0].track_id == 1);
    CHECK(gone.events[0].time_ms == last_ms);
    CHECK(gone.events[0].frame_seq == last_seen);
    CHECK(gone.events[0].bbox == last_box);
    CHECK(gone.time_ms == sort_t0 + static_cast<timestamp_ms>(f - 1) * sort_dt);
    CHECK(trk.active() == 0);
  }

  TEST_CASE("tentative noise produces no events") {
    sort_tracker trk(3);
    for (uint64_t f = 0; f < 30; ++f) {
      // A new blip each frame far from the last, sometimes two in a row.
      float x = static_cast<float>((f / 2) * 90 % 500);
      auto b = trk.update(sort_frame(f, {sort_det(x, static_cast<float>(f % 2) * 200)}));
      CHECK(b.events.empty());
    }
    CHECK(trk.tracks_started() == 0);
    CHECK(trk.flush(sort_t0 + 10'000).events.empty());
  }

  TEST_CASE("ended event carries the mean feature") {
    sort_tracker trk(3, {0.3f, 1, 2});
    trk.update(sort_frame(0, {sort_det(100, 100, {1, 0})}));
    trk.update(sort_frame(1, {sort_det(100, 100, {0, 1})}));
    trk.update(sort_frame(2, {sort_det(100, 100, {1, 0})}));
    trk.update(sort_frame(3, {sort_det(100, 100, {0, 1})}));
    trk.update(sort_frame(4, {}));
    auto b = trk.update(sort_frame(5, {}));
    REQUIRE(b.events.size() == 1);
    const auto& e = b.events[0];
    CHECK(e.state == track_state::ended);
    REQUIRE(e.feature.size() == 2);
    CHECK(e.feature[0] == doctest::Approx(std::sqrt(0.5)));
    CHECK(e.feature[1] == doctest::Approx(std::sqrt(0.5)));
    CHECK(e.time_ms == sort_t0 + 3 * sort_dt);
  }

  TEST_CASE("flush ends every confirmed track") {
    sort_tracker trk(3);
    for (uint64_t f = 0; f < 5; ++f) {
      std::vector<detection> dets{sort_det(100, 100), sort_det(300, 100)};
      if (f == 4) dets.push_back(sort_det(500, 300)); // still tentative at flush
      trk.update(sort_frame(f, dets));
    }
    CHECK(trk.active() == 2);
    auto b = trk.flush(sort_t0 + 99'999);
    CHECK(b.time_ms == sort_t0 + 99'999);
    CHECK(b.seq == 4);
    REQUIRE(b.events.size() == 2);
    CHECK(count_state(b, track_state::ended) == 2);
    CHECK(b.events[0].track_id == 1);
    CHECK(b.events[1].track_id == 2);
    CHECK(b.events[0].time_ms == sort_t0 + 4 * sort_dt);
    CHECK(trk.active() == 0);
    CHECK(trk.flush(sort_t0 + 100'000).events.empty());
  }

  TEST_CASE("ids follow confirmation order and runs are reproducible") {
    auto run = [] {
      sort_tracker trk(3, {0.3f, 2, 2});
      std::vector<track_event> all;
      for (uint64_t f = 0; f < 20; ++f) {
        std::vector<detection> dets;
        if (f >= 3) dets.push_back(sort_det(50.f + 4 * f, 50));
        if (f < 12) dets.push_back(sort_det(400.f - 4 * f, 300));
        for (auto& e : trk.update(sort_frame(f, dets)).events) all.push_back(e);
      }
      for (auto& e : trk.flush(sort_t0 + 1'000'000).events) all.push_back(e);
      return all;
    };
    auto a = run(), b = run();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].track_id == b[i].track_id);
      CHECK(a[i].state == b[i].state);
      CHECK(a[i].time_ms == b[i].time_ms);
      CHECK(a[i].bbox == b[i].bbox);
    }
    // The second person appears first, so it gets id 1.
    REQUIRE_FALSE(a.empty());
    CHECK(a[0].state == track_state::started);
    CHECK(a[0].track_id == 1);
    CHECK(a[0].bbox.y == 300);
  }

} // TEST_SUITE
