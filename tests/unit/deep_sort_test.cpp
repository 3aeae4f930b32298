#include "actors/tracker/deep_sort.hpp"
#include "actors/tracker/sort_tracker.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <random>

using namespace weaver;

namespace {

constexpr timestamp_ms ds_t0 = 1'700'000'000'000;
constexpr timestamp_ms ds_dt = 100; // 10 fps

detection_batch ds_frame(uint64_t seq, std::vector<detection> dets) {
  detection_batch b;
  b.camera_id = 5;
  b.seq = seq;
  b.capture_ms = ds_t0 + static_cast<timestamp_ms>(seq) * ds_dt;
  b.width = 640;
  b.height = 480;
  b.detections = std::move(dets);
  return b;
}

detection ds_det(float x, float y, std::vector<float> feature = {}) {
  detection d;
  d.bbox = {x, y, 40, 100};
  d.score = 0.9f;
  d.feature = std::move(feature);
  return d;
}

size_t ds_count(const track_batch& b, track_state s) {
  size_t n = 0;
  for (const auto& e : b.events) n += e.state == s;
  return n;
}

// A unit vector at `degrees` in the first two dimensions of a 4-dim space.
std::vector<float> ds_look(double degrees) {
  double r = degrees * M_PI / 180;
  return {static_cast<float>(std::cos(r)), static_cast<float>(std::sin(r)), 0, 0};
}

// Feeds `n` frames of one stationary person at x so its track is confirmed.
void ds_settle(deep_sort& trk, uint64_t& f, float x, const std::vector<float>& look, int n = 5) {
  for (int i = 0; i < n; ++i) trk.update(ds_frame(f++, {ds_det(x, 100, look)}));
}

} // namespace

TEST_SUITE("deep_sort") {
  TEST_CASE("confirms after n_init and reports the first detection time") {
    deep_sort_config cfg;
    cfg.n_init = 3;
    deep_sort trk(5, cfg);
    CHECK(trk.config().n_init == 3);
    CHECK(trk.update(ds_frame(0, {ds_det(100, 100)})).events.empty());
    CHECK(trk.update(ds_frame(1, {ds_det(102, 100)})).events.empty());
    CHECK(trk.active() == 0);
    auto b = trk.update(ds_frame(2, {ds_det(104, 100, {1, 0})}));
    CHECK(b.camera_id == 5);
    CHECK(b.seq == 2);
    CHECK(b.time_ms == ds_t0 + 2 * ds_dt);
    REQUIRE(b.events.size() == 1);
    const auto& e = b.events[0];
    CHECK(e.state == track_state::started);
    CHECK(e.track_id == 1);
    CHECK(e.camera_id == 5);
    CHECK(e.time_ms == ds_t0); // the first detection
    CHECK(e.frame_seq == 0);
    CHECK(e.bbox == box{104, 100, 40, 100}); // the confirming detection's box
    CHECK(e.score == doctest::Approx(0.9f));
    CHECK(e.feature == std::vector<float>{1, 0});
    auto u = trk.update(ds_frame(3, {ds_det(106, 100)}));
    REQUIRE(u.events.size() == 1);
    CHECK(u.events[0].state == track_state::updated);
    CHECK(u.events[0].track_id == 1);
    CHECK(u.events[0].time_ms == ds_t0 + 3 * ds_dt);
    CHECK(u.events[0].frame_seq == 3);
    CHECK(u.events[0].bbox == box{106, 100, 40, 100});
    CHECK(trk.active() == 1);
    CHECK(trk.tracks_started() == 1);
  }

  TEST_CASE("n_init 1 confirms at once") {
    deep_sort_config cfg;
    cfg.n_init = 1;
    deep_sort trk(5, cfg);
    auto b = trk.update(ds_frame(0, {ds_det(100, 100), ds_det(300, 100)}));
    REQUIRE(b.events.size() == 2);
    CHECK(b.events[0].track_id == 1);
    CHECK(b.events[0].bbox.x == 100); // ids in detection (creation) order
    CHECK(b.events[1].track_id == 2);
    CHECK(ds_count(b, track_state::started) == 2);
  }

  TEST_CASE("a tentative track dies on its first miss") {
    deep_sort_config cfg;
    cfg.n_init = 3;
    deep_sort trk(5, cfg);
    trk.update(ds_frame(0, {ds_det(100, 100)}));
    trk.update(ds_frame(1, {ds_det(102, 100)}));
    CHECK(trk.update(ds_frame(2, {})).events.empty()); // missed: gone
    // Two more hits are not enough: counting starts over.
    CHECK(trk.update(ds_frame(3, {ds_det(104, 100)})).events.empty());
    CHECK(trk.update(ds_frame(4, {ds_det(106, 100)})).events.empty());
    auto b = trk.update(ds_frame(5, {ds_det(108, 100)}));
    REQUIRE(b.events.size() == 1);
    CHECK(b.events[0].state == track_state::started);
    CHECK(b.events[0].frame_seq == 3);
    CHECK(trk.tracks_started() == 1);
  }

  TEST_CASE("short gaps keep the track, long gaps end it; ended carries the mean feature") {
    deep_sort_config cfg;
    cfg.max_age = 5;
    deep_sort trk(5, cfg);
    uint64_t f = 0;
    float x = 100;
    int n = 0;
    auto step = [&](bool seen) {
      x += 3;
      // Alternating features: their mean is the diagonal.
      if (!seen) return trk.update(ds_frame(f++, {}));
      std::vector<float> feat = n++ % 2 ? std::vector<float>{0, 1} : std::vector<float>{1, 0};
      return trk.update(ds_frame(f++, {ds_det(x, 100, feat)}));
    };
    for (int i = 0; i < 6; ++i) step(true);
    for (int i = 0; i < 5; ++i) // max_age missed frames: still alive
      CHECK(step(false).events.empty());
    CHECK(trk.active() == 1);
    auto back = step(true); // found again through the cascade (5 misses)
    REQUIRE(back.events.size() == 1);
    CHECK(back.events[0].state == track_state::updated);
    CHECK(back.events[0].track_id == 1);
    const uint64_t last_seen = f - 1;
    const box last_box{x, 100, 40, 100};
    for (int i = 0; i < 5; ++i) CHECK(step(false).events.empty());
    auto gone = step(false); // the sixth miss exceeds max_age
    REQUIRE(gone.events.size() == 1);
    const auto& e = gone.events[0];
    CHECK(e.state == track_state::ended);
    CHECK(e.track_id == 1);
    CHECK(e.frame_seq == last_seen);
    CHECK(e.time_ms == ds_t0 + static_cast<timestamp_ms>(last_seen) * ds_dt);
    CHECK(e.bbox == last_box);
    REQUIRE(e.feature.size() == 2);
    // 7 matched detections: 4 x (1, 0) and 3 x (0, 1), normalised.
    CHECK(e.feature[0] == doctest::Approx(4 / 5.0));
    CHECK(e.feature[1] == doctest::Approx(3 / 5.0));
    CHECK(trk.active() == 0);
  }

  TEST_CASE("a detection outside the Mahalanobis gate starts a new track") {
    deep_sort_config cfg;
    cfg.n_init = 1;
    deep_sort trk(5, cfg);
    uint64_t f = 0;
    const auto look = ds_look(0);
    ds_settle(trk, f, 100, look, 10);
    // Two frames unseen, so only the cascade (gated) can bring it back.
    trk.update(ds_frame(f++, {}));
    trk.update(ds_frame(f++, {}));
    // Same look, 60 px away (1.5 widths): far outside the gate.
    auto far = trk.update(ds_frame(f++, {ds_det(160, 100, look)}));
    REQUIRE(far.events.size() == 1);
    CHECK(far.events[0].state == track_state::started);
    CHECK(far.events[0].track_id == 2);
    // Same look, 4 px away: inside the gate, the old identity.
    deep_sort trk2(5, cfg);
    f = 0;
    ds_settle(trk2, f, 100, look, 10);
    trk2.update(ds_frame(f++, {}));
    trk2.update(ds_frame(f++, {}));
    auto near = trk2.update(ds_frame(f++, {ds_det(104, 100, look)}));
    REQUIRE(near.events.size() == 1);
    CHECK(near.events[0].state == track_state::updated);
    CHECK(near.events[0].track_id == 1);
  }

  TEST_CASE("appearance beyond max_cosine_distance does not match in the cascade") {
    deep_sort_config cfg;
    cfg.n_init = 1;
    cfg.max_cosine_distance = 0.2f;
    cfg.reacquire_cosine_distance = 0.2f; // the re-acquisition below: only max_cosine_distance
    deep_sort trk(5, cfg);
    uint64_t f = 0;
    ds_settle(trk, f, 100, ds_look(0), 10);
    trk.update(ds_frame(f++, {}));
    trk.update(ds_frame(f++, {}));
    // In place but looking different: cos 60 deg = 0.5, distance 0.5 > 0.2.
    auto b = trk.update(ds_frame(f++, {ds_det(100, 100, ds_look(60))}));
    REQUIRE(b.events.size() == 1);
    CHECK(b.events[0].track_id == 2);
    // cos 30 deg: distance 0.134 <= 0.2, the old track (id 1) takes it.
    deep_sort trk2(5, cfg);
    f = 0;
    ds_settle(trk2, f, 100, ds_look(0), 10);
    trk2.update(ds_frame(f++, {}));
    trk2.update(ds_frame(f++, {}));
    auto c = trk2.update(ds_frame(f++, {ds_det(100, 100, ds_look(30))}));
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].track_id == 1);
  }

  TEST_CASE("a track that missed a frame is re-acquired only under reacquire_cosine_distance") {
    deep_sort_config cfg;
    cfg.n_init = 1;
    cfg.max_cosine_distance = 0.2f;
    auto run = [&](float reacquire, bool gap) {
      cfg.reacquire_cosine_distance = reacquire;
      deep_sort trk(5, cfg);
      uint64_t f = 0;
      ds_settle(trk, f, 100, ds_look(0), 10);
      if (gap) trk.update(ds_frame(f++, {}));
      // In place, cos 30 deg: distance 0.134, inside 0.2, outside 0.1.
      auto b = trk.update(ds_frame(f++, {ds_det(100, 100, ds_look(30))}));
      REQUIRE(b.events.size() == 1);
      return b.events[0].track_id;
    };
    CHECK(run(0.2f, true) == 1); // no separate gate: the old track
    CHECK(run(0.1f, true) == 2); // missed a frame: the stricter gate, a new track
    CHECK(run(0.1f, false) == 1); // seen last frame: max_cosine_distance applies
  }

  TEST_CASE("the cascade prefers the recently updated track") {
    // Two confirmed people side by side; B is missed for one frame. A
    // detection between them looks more like B (distance 0.04) than A (0.2),
    // but A was seen last frame, so the cascade offers it to A first. (One
    // global assignment on appearance would give it to B.)
    deep_sort_config cfg;
    cfg.n_init = 1;
    cfg.max_cosine_distance = 0.3f;
    deep_sort trk(5, cfg);
    const std::vector<float> fa{1, 0}, fb{0.6f, 0.8f}; // distance 0.4 apart
    const std::vector<float> f_det{0.8f, 0.6f}; // 0.2 from A, 0.04 from B
    uint64_t f = 0;
    for (int i = 0; i < 8; ++i) trk.update(ds_frame(f++, {ds_det(100, 100, fa), ds_det(110, 100, fb)}));
    REQUIRE(trk.active() == 2); // A = 1, B = 2
    auto only_a = trk.update(ds_frame(f++, {ds_det(100, 100, fa)}));
    REQUIRE(only_a.events.size() == 1);
    CHECK(only_a.events[0].track_id == 1);
    auto b = trk.update(ds_frame(f++, {ds_det(105, 100, f_det)}));
    REQUIRE(b.events.size() == 1);
    CHECK(b.events[0].state == track_state::updated);
    CHECK(b.events[0].track_id == 1);
    // Control: when both were seen last frame, appearance decides: B.
    deep_sort trk2(5, cfg);
    f = 0;
    for (int i = 0; i < 9; ++i) trk2.update(ds_frame(f++, {ds_det(100, 100, fa), ds_det(110, 100, fb)}));
    auto c = trk2.update(ds_frame(f++, {ds_det(105, 100, f_det)}));
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].track_id == 2);
  }

  TEST_CASE("appearance keeps identities where IoU alone swaps them") {
    // A (look 0 deg) walks right and B (look 90 deg) walks left, 4 px per
    // frame, 10 px apart vertically; they meet at x = 200 in frame 25 and
    // both turn back. The constant-velocity prediction carries each track
    // through the other, so matching on IoU pairs A's track with B's
    // detection; Deep SORT's cascade compares looks first.
    auto scene = [](uint64_t f) {
      const float s = f <= 25 ? 4.f * f : 100.f - 4.f * (f - 25);
      detection a = ds_det(100.f + s, 100, ds_look(0));
      detection b = ds_det(300.f - s, 110, ds_look(90));
      // Alternate the order so the index carries no information.
      return f % 2 ? std::vector<detection>{a, b} : std::vector<detection>{b, a};
    };
    auto person = [](const track_event& e) { return e.feature[0] > 0.5f ? 'a' : 'b'; };

    deep_sort ds(5);
    sort_tracker sort(5);
    std::map<uint64_t, char> ds_who, sort_who;
    int ds_wrong = 0, sort_wrong = 0;
    for (uint64_t f = 0; f < 50; ++f) {
      for (const auto& e : ds.update(ds_frame(f, scene(f))).events) {
        if (e.state == track_state::started)
          ds_who[e.track_id] = person(e);
        else if (e.state == track_state::updated)
          ds_wrong += ds_who.at(e.track_id) != person(e);
      }
      for (const auto& e : sort.update(ds_frame(f, scene(f))).events) {
        if (e.state == track_state::started)
          sort_who[e.track_id] = person(e);
        else if (e.state == track_state::updated)
          sort_wrong += sort_who.at(e.track_id) != person(e);
      }
    }
    CHECK(sort_wrong > 0); // the premise: IoU alone swaps them
    CHECK(ds_wrong == 0);
    CHECK(ds.tracks_started() == 2);
    CHECK(ds.active() == 2);
  }

  TEST_CASE("without features the cascade matches by motion") {
    deep_sort_config cfg;
    cfg.n_init = 1;
    deep_sort trk(5, cfg);
    uint64_t f = 0;
    for (int i = 0; i < 10; ++i) trk.update(ds_frame(f++, {ds_det(100.f + 3 * i, 100)}));
    trk.update(ds_frame(f++, {}));
    trk.update(ds_frame(f++, {}));
    trk.update(ds_frame(f++, {}));
    // Where the motion predicts (x = 100 + 3 * 13), plus a stranger far off.
    auto b = trk.update(ds_frame(f++, {ds_det(300, 100), ds_det(139, 100)}));
    REQUIRE(b.events.size() == 2);
    CHECK(b.events[0].track_id == 1);
    CHECK(b.events[0].state == track_state::updated);
    CHECK(b.events[0].bbox.x == 139);
    CHECK(b.events[1].track_id == 2);
    CHECK(b.events[1].state == track_state::started);
  }

  TEST_CASE("associates on the embedding when configured, else on the feature") {
    // The embedding says "same person", the hand-crafted feature "different".
    auto run = [](bool use_embedding) {
      deep_sort_config cfg;
      cfg.n_init = 1;
      cfg.use_embedding = use_embedding;
      deep_sort trk(5, cfg);
      uint64_t f = 0;
      auto det = [](float x, std::vector<float> feat, std::vector<float> emb) {
        auto d = ds_det(x, 100, std::move(feat));
        d.embedding = std::move(emb);
        return d;
      };
      for (int i = 0; i < 5; ++i) trk.update(ds_frame(f++, {det(100, {1, 0}, {0, 0, 1})}));
      trk.update(ds_frame(f++, {}));
      trk.update(ds_frame(f++, {}));
      auto b = trk.update(ds_frame(f++, {det(101, {0, 1}, {0, 0, 1})}));
      REQUIRE(b.events.size() == 1);
      // Events carry the hand-crafted feature either way.
      CHECK(b.events[0].feature == std::vector<float>{0, 1});
      return b.events[0].track_id;
    };
    CHECK(run(true) == 1);
    CHECK(run(false) == 2);
  }

  TEST_CASE("detections of different classes never match") {
    deep_sort_config cfg;
    cfg.n_init = 1;
    deep_sort trk(5, cfg);
    trk.update(ds_frame(0, {ds_det(100, 100)}));
    auto other = ds_det(100, 100);
    other.class_id = 2;
    auto b = trk.update(ds_frame(1, {other}));
    REQUIRE(b.events.size() == 1);
    CHECK(b.events[0].state == track_state::started);
    CHECK(b.events[0].track_id == 2);
  }

  TEST_CASE("flush ends every confirmed track") {
    deep_sort trk(5);
    uint64_t f = 0;
    for (int i = 0; i < 4; ++i) trk.update(ds_frame(f++, {ds_det(100, 100, {1, 0}), ds_det(300, 100, {0, 1})}));
    trk.update(
      ds_frame(f++, {ds_det(100, 100, {1, 0}), ds_det(300, 100, {0, 1}), ds_det(500, 100)})); // a tentative third
    REQUIRE(trk.active() == 2);
    auto b = trk.flush(ds_t0 + 99);
    CHECK(b.time_ms == ds_t0 + 99);
    CHECK(b.seq == f - 1);
    REQUIRE(b.events.size() == 2);
    CHECK(b.events[0].track_id == 1);
    CHECK(b.events[1].track_id == 2);
    CHECK(ds_count(b, track_state::ended) == 2);
    CHECK(b.events[0].feature == std::vector<float>{1, 0});
    CHECK(trk.active() == 0);
    CHECK(trk.flush(ds_t0 + 100).events.empty());
  }

  TEST_CASE("the filter's estimate of a confirmed track") {
    deep_sort trk(5);
    uint64_t f = 0;
    ds_settle(trk, f, 100, {}, 4);
    auto est = trk.estimate(1);
    REQUIRE(est);
    CHECK(est->x == doctest::Approx(100).epsilon(0.01));
    CHECK(est->h == doctest::Approx(100).epsilon(0.01));
    CHECK_FALSE(trk.estimate(2));
    CHECK_FALSE(trk.estimate(0));
  }

  TEST_CASE("a missed walker's gate widens slowly (velocity noise 1/200 of the height)") {
    // A person walking right at 5 px a frame, missed for 5 frames, then a
    // detection that looks the same `dy` px below their predicted path: it
    // re-acquires the track at 50 px; at 57 px (0.57 box heights) it is
    // someone else. With the reference's velocity noise 1/160 the gate had
    // grown to ~59 px and took it.
    auto reacquired = [](float dy) {
      deep_sort trk(5, deep_sort_config{});
      uint64_t f = 0;
      float x = 100;
      for (int i = 0; i < 20; ++i, x += 5) trk.update(ds_frame(f++, {ds_det(x, 100, ds_look(0))}));
      for (int i = 0; i < 5; ++i, x += 5) trk.update(ds_frame(f++, {}));
      auto b = trk.update(ds_frame(f, {ds_det(x, 100 + dy, ds_look(0))}));
      for (const auto& e : b.events)
        if (e.track_id == 1 && e.state == track_state::updated) return true;
      return false;
    };
    CHECK(reacquired(0));
    CHECK(reacquired(50));
    CHECK_FALSE(reacquired(57));
  }

  TEST_CASE("deterministic, events sorted by id") {
    // A random walk of 12 people with noisy looks, missed detections and
    // clutter; two runs must agree event by event.
    auto run = [] {
      std::mt19937 rng(42);
      std::normal_distribution<float> noise(0.f, 2.f);
      std::uniform_real_distribution<float> u(0.f, 1.f);
      struct person {
        float x, y, vx, vy;
        std::vector<float> look;
      };
      std::vector<person> people;
      for (int i = 0; i < 12; ++i)
        people.push_back({40.f + 45.f * i, 50.f + 25.f * (i % 4), u(rng) * 4 - 2, u(rng) * 2 - 1, ds_look(i * 7.5)});
      deep_sort trk(5);
      std::vector<track_event> all;
      for (uint64_t f = 0; f < 200; ++f) {
        std::vector<detection> dets;
        for (auto& p : people) {
          p.x += p.vx;
          p.y += p.vy;
          if (u(rng) < 0.1f) continue; // missed
          auto look = p.look;
          for (auto& v : look) v += 0.05f * noise(rng);
          dets.push_back(ds_det(p.x + noise(rng), p.y + noise(rng), look));
        }
        if (u(rng) < 0.3f) dets.push_back(ds_det(u(rng) * 600, u(rng) * 300, ds_look(u(rng) * 90)));
        auto b = trk.update(ds_frame(f, std::move(dets)));
        for (size_t i = 1; i < b.events.size(); ++i) CHECK(b.events[i - 1].track_id < b.events[i].track_id);
        all.insert(all.end(), b.events.begin(), b.events.end());
      }
      auto end = trk.flush(ds_t0 + 1'000'000);
      all.insert(all.end(), end.events.begin(), end.events.end());
      return all;
    };
    auto a = run(), b = run();
    REQUIRE(a.size() == b.size());
    CHECK(a.size() > 1000);
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].track_id == b[i].track_id);
      CHECK(a[i].state == b[i].state);
      CHECK(a[i].frame_seq == b[i].frame_seq);
      CHECK(a[i].bbox == b[i].bbox);
      CHECK(a[i].feature == b[i].feature);
    }
  }

} // TEST_SUITE
