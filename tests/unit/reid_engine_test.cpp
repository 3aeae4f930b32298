#include "actors/reid/reid_engine.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace weaver;

namespace {

constexpr timestamp_ms reid_frame_ms = 100;
constexpr int reid_confirm_frames = 2; // started arrives this many frames late
constexpr int reid_lag_frames = 5;     // ended arrives this many frames late

struct reid_visit {
  uint64_t track_id;
  timestamp_ms start_ms, end_ms; // multiples of reid_frame_ms
  std::vector<float> feature;
};

// The batches a tracker would send for these visits, one per frame, with the
// confirmation and end-of-track lags a real tracker has.
std::vector<track_batch> reid_stream(uint32_t camera, const std::vector<reid_visit>& visits,
                                     timestamp_ms until_ms) {
  std::vector<track_batch> out;
  uint64_t seq = 0;
  for (timestamp_ms t = 0; t <= until_ms; t += reid_frame_ms) {
    track_batch b;
    b.camera_id = camera;
    b.seq = seq++;
    b.time_ms = t;
    for (const auto& v : visits) {
      track_event e;
      e.camera_id = camera;
      e.track_id = v.track_id;
      e.feature = v.feature;
      timestamp_ms confirm_ms = v.start_ms + reid_confirm_frames * reid_frame_ms;
      if (t == confirm_ms) {
        e.state = track_state::started;
        e.time_ms = v.start_ms;
      } else if (t > confirm_ms && t <= v.end_ms) {
        e.state = track_state::updated;
        e.time_ms = t;
      } else if (t == v.end_ms + reid_lag_frames * reid_frame_ms) {
        e.state = track_state::ended;
        e.time_ms = v.end_ms;
      } else {
        continue;
      }
      b.events.push_back(std::move(e));
    }
    out.push_back(std::move(b));
  }
  return out;
}

struct reid_result {
  std::vector<identity> ids;
  std::vector<presence> rows;
  void add(const presence_batch& b) {
    ids.insert(ids.end(), b.identities.begin(), b.identities.end());
    rows.insert(rows.end(), b.rows.begin(), b.rows.end());
  }
};

// Runs the engine over per-camera streams; `order` lists which camera's next
// batch goes next (a camera's end of stream follows its last batch).
reid_result reid_run(const std::map<uint32_t, std::vector<track_batch>>& streams,
                     const std::vector<uint32_t>& order, reid_config cfg = {}) {
  reid_engine engine(cfg);
  for (const auto& [cam, s] : streams)
    engine.add_camera(cam);
  std::map<uint32_t, size_t> next;
  reid_result r;
  for (uint32_t cam : order) {
    const auto& s = streams.at(cam);
    size_t& i = next[cam];
    r.add(engine.on_tracks(s[i++]));
    if (i == s.size())
      r.add(engine.on_end_of_stream(cam));
  }
  r.add(engine.flush());
  return r;
}

std::vector<uint32_t> reid_sequential(const std::map<uint32_t, std::vector<track_batch>>& s,
                                      bool reverse) {
  std::vector<uint32_t> order;
  auto add = [&](uint32_t cam, size_t n) { order.insert(order.end(), n, cam); };
  if (reverse)
    for (auto i = s.rbegin(); i != s.rend(); ++i)
      add(i->first, i->second.size());
  else
    for (const auto& [cam, b] : s)
      add(cam, b.size());
  return order;
}

std::vector<uint32_t> reid_shuffled(const std::map<uint32_t, std::vector<track_batch>>& s,
                                    unsigned seed) {
  std::vector<uint32_t> order = reid_sequential(s, false);
  std::mt19937 rng(seed);
  std::shuffle(order.begin(), order.end(), rng); // per-camera order is implicit
  return order;
}

void reid_check_same(const reid_result& a, const reid_result& b) {
  REQUIRE(a.ids.size() == b.ids.size());
  REQUIRE(a.rows.size() == b.rows.size());
  for (size_t i = 0; i < a.ids.size(); ++i) {
    CAPTURE(i);
    CHECK(a.ids[i].camera_id == b.ids[i].camera_id);
    CHECK(a.ids[i].track_id == b.ids[i].track_id);
    CHECK(a.ids[i].person_id == b.ids[i].person_id);
    CHECK(a.ids[i].confidence == b.ids[i].confidence);
    CHECK(a.rows[i] == b.rows[i]);
  }
}

const std::vector<float> reid_f1{1, 0, 0}, reid_f2{0, 1, 0};

} // namespace

TEST_SUITE("reid_engine") {

TEST_CASE("walking from camera 1 to camera 2 keeps one id") {
  std::map<uint32_t, std::vector<track_batch>> s{
    {1, reid_stream(1, {{1, 1000, 5000, reid_f1}}, 20000)},
    {2, reid_stream(2, {{1, 7000, 12000, reid_f1}}, 20000)}};
  auto r = reid_run(s, reid_sequential(s, false));
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[0] == presence{1, 1, 1000, 5000});
  CHECK(r.rows[1] == presence{1, 2, 7000, 12000});
  REQUIRE(r.ids.size() == 2);
  CHECK(r.ids[0].confidence == 1.0f);
  CHECK(r.ids[1].person_id == 1);
  CHECK(r.ids[1].confidence == doctest::Approx(1.0f));
}

TEST_CASE("different features give different ids") {
  std::map<uint32_t, std::vector<track_batch>> s{
    {1, reid_stream(1, {{1, 1000, 5000, reid_f1}}, 20000)},
    {2, reid_stream(2, {{1, 7000, 12000, reid_f2}}, 20000)}};
  auto r = reid_run(s, reid_sequential(s, false));
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[0].person_id == 1);
  CHECK(r.rows[1].person_id == 2);
}

TEST_CASE("transit time gates the match") {
  auto second_start = [](timestamp_ms enter) {
    std::map<uint32_t, std::vector<track_batch>> s{
      {1, reid_stream(1, {{1, 1000, 5000, reid_f1}}, 30000)},
      {2, reid_stream(2, {{1, enter, enter + 3000, reid_f1}}, 30000)}};
    return reid_run(s, reid_sequential(s, true)).rows.at(1).person_id;
  };
  CHECK(second_start(5000 + 10000) == 1); // exactly max_gap_ms
  CHECK(second_start(5000 + 10100) == 2); // over max_gap_ms
  CHECK(second_start(3000) == 1);         // overlapping views are fine
}

TEST_CASE("re-entering the same camera, empty features, short tracks") {
  SUBCASE("same camera") {
    std::map<uint32_t, std::vector<track_batch>> s{
      {1, reid_stream(1, {{1, 1000, 3000, reid_f1}, {2, 4000, 6000, reid_f1}}, 10000)}};
    auto r = reid_run(s, reid_sequential(s, false));
    REQUIRE(r.rows.size() == 2);
    CHECK(r.rows[1].person_id == 2);
  }
  SUBCASE("no feature") {
    std::map<uint32_t, std::vector<track_batch>> s{
      {1, reid_stream(1, {{1, 1000, 3000, {}}}, 10000)},
      {2, reid_stream(2, {{1, 4000, 6000, {}}}, 10000)}};
    auto r = reid_run(s, reid_sequential(s, false));
    REQUIRE(r.rows.size() == 2);
    CHECK(r.rows[1].person_id == 2);
  }
  SUBCASE("min_track_ms") {
    std::map<uint32_t, std::vector<track_batch>> s{
      {1, reid_stream(1, {{1, 1000, 1500, reid_f1}, {2, 2000, 4000, reid_f2}}, 10000)}};
    reid_config cfg;
    cfg.min_track_ms = 1000;
    auto r = reid_run(s, reid_sequential(s, false), cfg);
    REQUIRE(r.rows.size() == 1);
    CHECK(r.rows[0] == presence{1, 1, 2000, 4000});
    CHECK(r.ids[0].track_id == 2);
  }
}

TEST_CASE("a silent camera holds resolution back") {
  reid_engine engine;
  engine.add_camera(1);
  engine.add_camera(2);
  size_t resolved = 0;
  for (const auto& b : reid_stream(1, {{1, 1000, 3000, reid_f1}}, 5000))
    resolved += engine.on_tracks(b).rows.size();
  CHECK(resolved == 0);
  CHECK(engine.pending() == 1);
  track_batch late;
  late.camera_id = 2;
  late.time_ms = 3000; // not past the end time yet
  CHECK(engine.on_tracks(late).rows.empty());
  late.time_ms = 3100;
  auto out = engine.on_tracks(late);
  REQUIRE(out.rows.size() == 1);
  CHECK(out.rows[0] == presence{1, 1, 1000, 3000});
  CHECK(engine.pending() == 0);
  CHECK(engine.people() == 1);
}

TEST_CASE("an open track holds resolution back until it ends") {
  // Camera 2's track is last seen at 2000 but its `ended` comes only with the
  // batch of 2500; camera 1's track ending at 2200 must wait for it even
  // though camera 2's batches are already past 2200.
  reid_engine engine;
  engine.add_camera(1);
  engine.add_camera(2);
  auto s1 = reid_stream(1, {{1, 1000, 2200, reid_f1}}, 6000);
  auto s2 = reid_stream(2, {{1, 500, 2000, reid_f1}}, 6000);
  reid_result r;
  for (const auto& b : s1)
    r.add(engine.on_tracks(b));
  for (size_t i = 0; i < s2.size() && s2[i].time_ms <= 2400; ++i)
    r.add(engine.on_tracks(s2[i]));
  CHECK(r.rows.empty()); // camera 2's track is open at 2000
  for (size_t i = 0; i < s2.size(); ++i)
    if (s2[i].time_ms > 2400)
      r.add(engine.on_tracks(s2[i]));
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[0] == presence{1, 2, 500, 2000}); // earlier end first
  CHECK(r.rows[1] == presence{1, 1, 1000, 2200});
}

TEST_CASE("every interleaving of the same streams gives the same result") {
  // Twelve people wander through three cameras; some look alike, so which
  // track claims which identity depends on the resolution order.
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.f, 0.15f);
  std::vector<std::vector<float>> looks;
  for (int p = 0; p < 12; ++p) {
    std::vector<float> f(6, 0.f);
    f[p % 6] = 1.f;
    f[(p + 1) % 6] = p < 6 ? 0.2f : 0.5f;
    looks.push_back(f);
  }
  std::map<uint32_t, std::vector<reid_visit>> visits;
  std::uniform_int_distribution<int> cam_pick(1, 3), frames(10, 80), gap(0, 60);
  for (int p = 0; p < 12; ++p) {
    timestamp_ms t = 1000 + 700 * p;
    uint32_t cam = static_cast<uint32_t>(cam_pick(rng));
    for (int hop = 0; hop < 3; ++hop) {
      timestamp_ms end = t + frames(rng) * reid_frame_ms;
      std::vector<float> f = looks[p];
      for (auto& x : f)
        x += noise(rng);
      float n = 0;
      for (float x : f)
        n += x * x;
      for (auto& x : f)
        x /= std::sqrt(n);
      visits[cam].push_back({0, t, end, f});
      t = end + gap(rng) * reid_frame_ms - 1500; // may overlap the next view
      cam = cam % 3 + 1;
    }
  }
  std::map<uint32_t, std::vector<track_batch>> s;
  for (auto& [cam, v] : visits) {
    std::sort(v.begin(), v.end(), [](const reid_visit& a, const reid_visit& b) {
      return a.start_ms < b.start_ms;
    });
    for (size_t i = 0; i < v.size(); ++i)
      v[i].track_id = i + 1;
    s[cam] = reid_stream(cam, v, 60000);
  }
  reid_config cfg;
  cfg.match_threshold = 0.8f;
  auto base = reid_run(s, reid_sequential(s, false), cfg);
  CHECK(base.rows.size() == 36);
  CHECK(base.ids.size() == 36);
  reid_check_same(base, reid_run(s, reid_sequential(s, true), cfg));
  for (unsigned seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    reid_check_same(base, reid_run(s, reid_shuffled(s, seed), cfg));
  }
  // Rows come out in end-time order and some tracks were linked.
  CHECK(std::is_sorted(base.rows.begin(), base.rows.end(),
                       [](const presence& a, const presence& b) { return a.exit_ms < b.exit_ms; }));
  uint64_t persons = 0;
  for (const auto& i : base.ids)
    persons = std::max(persons, i.person_id);
  CHECK(persons < 36);
  CHECK(persons > 1);
}

} // TEST_SUITE
