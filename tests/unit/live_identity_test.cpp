#include "actors/reid/live_identity.hpp"

#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "actors/reid/reid_engine.hpp"

using namespace weaver;

namespace {

constexpr timestamp_ms frame_ms = 100;

// One person's look: a unit vector along axis `k` with a little of the next.
std::vector<float> look(size_t k, size_t dim = 16) {
  std::vector<float> f(dim, 0.0f);
  f[k % dim] = 0.96f;
  f[(k + 1) % dim] = 0.28f;
  return f;
}

struct visit {
  uint32_t camera;
  uint64_t track;
  timestamp_ms start_ms, end_ms; // multiples of frame_ms
  std::vector<float> feature;
};

// Re-id and its live ids over visits, frame by frame in time order (camera
// ascending within a frame), as the re-id actor drives them.
struct rig {
  reid_engine engine;
  live_identity live;
  uint64_t scans = 0; // matcher calls seen here
  std::vector<identity> finals;

  explicit rig(live_identity_config lc = {}, reid_config rc = {}) : engine(rc), live(lc) {
    engine.add_camera(1);
    engine.add_camera(2);
  }

  // Batches of each camera from `from_ms` up to and including `to_ms`;
  // `each` runs after every batch.
  void run(const std::vector<visit>& visits, timestamp_ms from_ms, timestamp_ms to_ms,
           const std::function<void(timestamp_ms)>& each = {}) {
    for (timestamp_ms t = from_ms; t <= to_ms; t += frame_ms)
      for (uint32_t cam : {1u, 2u}) {
        track_batch b;
        b.camera_id = cam;
        b.seq = static_cast<uint64_t>(t / frame_ms);
        b.time_ms = t;
        for (const auto& v : visits) {
          if (v.camera != cam) continue;
          track_event e;
          e.camera_id = cam;
          e.track_id = v.track;
          e.bbox = {100, 100, 40, 100};
          e.time_ms = t;
          if (t == v.start_ms) {
            e.state = track_state::started;
            e.feature = v.feature;
          } else if (t > v.start_ms && t <= v.end_ms) {
            e.state = track_state::updated;
            e.feature = v.feature;
          } else if (t == v.end_ms + frame_ms) {
            e.state = track_state::ended;
            e.time_ms = v.end_ms;
            e.feature = v.feature;
          } else {
            continue;
          }
          b.events.push_back(std::move(e));
        }
        const uint64_t before = engine.people();
        auto pb = engine.on_tracks(b);
        live.on_tracks(
          b,
          [this](uint32_t c, uint64_t tr, const std::vector<float>& f) {
            ++scans;
            return engine.open_match(c, tr, f);
          },
          before);
        live.on_final(pb.identities);
        finals.insert(finals.end(), pb.identities.begin(), pb.identities.end());
        if (each) each(t);
      }
  }

  std::optional<uint64_t> final_of(uint32_t camera, uint64_t track) const {
    for (const auto& i : finals)
      if (i.camera_id == camera && i.track_id == track) return i.person_id;
    return std::nullopt;
  }
};

} // namespace

TEST_CASE("live_identity: a person returning on another camera gets the gallery's id while their track is open") {
  rig r;
  // Person A on camera 1 (0-2 s), then on camera 2 from 5 s; someone new
  // (another look) on camera 2 meanwhile.
  const std::vector<visit> vs{{1, 1, 0, 2000, look(0)}, {2, 1, 5000, 12000, look(0)}, {2, 2, 5000, 12000, look(7)}};
  r.run(vs, 0, 4900);
  REQUIRE(r.final_of(1, 1) == uint64_t{1}); // A is in the gallery
  const uint64_t gallery = r.engine.people();
  std::optional<uint64_t> first_a; // when camera 2's track 1 was first named
  r.run(vs, 5000, 11000, [&](timestamp_ms t) {
    if (!first_a && r.live.provisional(2, 1)) first_a = t;
  });
  CHECK(r.live.provisional(2, 1) == uint64_t{1});
  CHECK(r.live.table(2) == std::map<uint64_t, uint64_t>{{1, 1}}); // the newcomer has none
  CHECK_FALSE(r.live.provisional(2, 2));
  REQUIRE(first_a);
  CHECK(*first_a == 5000 + 4 * frame_ms); // at its 5th feature (min_updates)
  CHECK(r.engine.people() == gallery); // guessing made nobody
  CHECK_FALSE(r.final_of(2, 1)); // still open: no final id yet
}

TEST_CASE("live_identity: the final id replaces the guess; ended tracks are forgotten and the outcome counted") {
  rig r;
  const std::vector<visit> vs{{1, 1, 0, 2000, look(0)}, {2, 1, 5000, 8000, look(0)}, {2, 2, 5000, 8000, look(7)}};
  r.run(vs, 0, 7000);
  CHECK(r.live.provisional(2, 1) == uint64_t{1});
  CHECK(r.live.open_tracks() == 2);
  r.run(vs, 7100, 8100); // both end at 8 s (their ended events at 8.1 s)
  CHECK_FALSE(r.live.provisional(2, 1));
  CHECK(r.live.table(2).empty());
  CHECK(r.live.open_tracks() == 0);
  CHECK(r.live.awaiting_final() == 2);
  r.run(vs, 8200, 12000); // until their window resolves
  REQUIRE(r.final_of(2, 1) == uint64_t{1});
  REQUIRE(r.final_of(2, 2));
  CHECK(*r.final_of(2, 2) > 1); // a new person, as no guess said
  CHECK(r.live.awaiting_final() == 0);
  const auto& s = r.live.stats();
  CHECK(s.agreed == 1);
  CHECK(s.differed == 0);
  CHECK(s.unguessed_new == 2); // camera 1's first track and the newcomer
  CHECK(s.unguessed_known == 0);
}

TEST_CASE("live_identity: a track is matched after min_updates features, then at most once per period") {
  live_identity_config lc;
  lc.min_updates = 5;
  lc.period_ms = 1000;
  rig r{lc};
  // One track on camera 2 with 60 features (6 s): scans at its 5th feature
  // (0.4 s) and each full second after while it is open: 0.4, 1.4 ... 5.4.
  const std::vector<visit> vs{{2, 1, 0, 5900, look(3)}};
  r.run(vs, 0, 5900);
  CHECK(r.live.stats().matches == 6);
  CHECK(r.scans == 6);
  // A shorter period scans more often; a long one once.
  lc.period_ms = 500;
  rig fast{lc};
  fast.run(vs, 0, 5900);
  CHECK(fast.scans == 12); // 0.4, 0.9 ... 5.9
  lc.period_ms = 60000;
  rig slow{lc};
  slow.run(vs, 0, 5900);
  CHECK(slow.scans == 1);
  // Fewer features than min_updates: never scanned.
  lc.min_updates = 100;
  rig none{lc};
  none.run(vs, 0, 5900);
  CHECK(none.scans == 0);
}

TEST_CASE(
  "live_identity: a person seen on another camera at the same time is not given (the final match refuses too)") {
  rig r;
  // A on camera 1 for 0-6 s; the same look on camera 2 from 3 s, open long
  // enough for camera 1's track to be resolved.
  const std::vector<visit> vs{{1, 1, 0, 6000, look(0)}, {2, 1, 3000, 11000, look(0)}};
  r.run(vs, 0, 10500);
  REQUIRE(r.final_of(1, 1) == uint64_t{1});
  CHECK(r.live.stats().matches > 0);
  CHECK_FALSE(r.live.provisional(2, 1));
  r.run(vs, 10600, 16000);
  REQUIRE(r.final_of(2, 1));
  CHECK(*r.final_of(2, 1) != 1);
  CHECK(r.live.stats().unguessed_new == 2);
}

TEST_CASE("live_identity: no person is given to two open tracks at once; the better match keeps them") {
  rig r;
  auto close = look(0);
  close[2] = 0.1f; // a little less like A than an exact copy
  const std::vector<visit> vs{{1, 1, 0, 2000, look(0)}, {2, 1, 5000, 9000, close}, {2, 2, 5000, 9000, look(0)}};
  r.run(vs, 0, 7000);
  // Each alone would be A; together only the closer one is.
  CHECK(r.engine.open_match(2, 1, close).size() == 1);
  CHECK(r.engine.open_match(2, 2, look(0)).size() == 1);
  CHECK(r.live.provisional(2, 2) == uint64_t{1});
  CHECK_FALSE(r.live.provisional(2, 1));
}

TEST_CASE("reid_engine: open_match changes nothing and knows only open tracks") {
  rig r;
  const std::vector<visit> vs{{1, 1, 0, 2000, look(0)}, {2, 1, 5000, 9000, look(0)}};
  r.run(vs, 0, 6000);
  const auto before = r.engine.snapshot();
  const auto m = r.engine.open_match(2, 1, look(0));
  REQUIRE(m.size() == 1);
  CHECK(m[0].person_id == 1);
  CHECK(m[0].score >= 0.9);
  CHECK(r.engine.open_match(2, 1, look(9)).empty()); // another look
  CHECK(r.engine.open_match(2, 7, look(0)).empty()); // no such open track
  CHECK(r.engine.open_match(1, 1, look(0)).empty()); // ended
  CHECK(r.engine.open_match(2, 1, {}).empty()); // no feature
  CHECK(r.engine.snapshot() == before);
}

TEST_CASE("live_identity: an ended camera's open tracks are dropped") {
  rig r;
  const std::vector<visit> vs{{1, 1, 0, 2000, look(0)}, {2, 1, 5000, 9000, look(0)}};
  r.run(vs, 0, 6000);
  REQUIRE(r.live.provisional(2, 1));
  r.live.end_camera(2);
  CHECK_FALSE(r.live.provisional(2, 1));
  CHECK(r.live.open_tracks() == 0);
}
