// Unit tests of the compact wire encodings (schemas/compact): the grids a
// stage moves its values onto before sending, with their error bounds, and
// what each link keeps.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "base/types.hpp"
#include "schemas/compact.hpp"

namespace {

using namespace weaver;

std::vector<float> unit_vector(std::mt19937& rng, size_t n, bool non_negative) {
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> v(n);
  double norm = 0;
  for (auto& x : v) {
    x = non_negative ? std::fabs(g(rng)) : g(rng);
    norm += double(x) * x;
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

float largest(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

} // namespace

TEST_CASE("compact: int8 grid error bounds, and the grid is exact on the wire") {
  std::mt19937 rng(17);
  for (size_t n : {1u, 8u, 128u, 176u, 1000u}) {
    for (int trial = 0; trial < 50; ++trial) {
      const auto v = unit_vector(rng, n, trial % 2 == 0);
      const auto g = compact::to_int8_grid(v);
      REQUIRE(g.size() == v.size());
      auto q = compact::exact_int8(g);
      REQUIRE(q.has_value());
      const float step = std::ldexp(1.f, q->exp);
      const float max = largest(v);
      CHECK(step < 2 * max / 127); // the smallest power of two that fits
      for (size_t i = 0; i < n; ++i) {
        CHECK(std::fabs(v[i] - g[i]) <= step / 2);
        CHECK(std::fabs(v[i] - g[i]) < max / 127);
      }
      CHECK(compact::from_int8(q->q.data(), q->q.size(), q->exp) == g); // exact
      CHECK(cosine(v, g) > 0.999);
      CHECK(compact::to_int8_grid(g) == g); // idempotent: a relayed vector stays put
    }
  }
}

TEST_CASE("compact: exact_int8 refuses what is not on a grid") {
  CHECK_FALSE(compact::exact_int8({0.1f, 0.2f, 0.3f}).has_value());
  CHECK_FALSE(compact::exact_int8({1.f, std::numeric_limits<float>::quiet_NaN()}).has_value());
  CHECK_FALSE(compact::exact_int8({1.f, std::numeric_limits<float>::infinity()}).has_value());
  auto z = compact::exact_int8({0.f, 0.f});
  REQUIRE(z);
  CHECK(z->q == std::vector<int8_t>{0, 0});
  auto e = compact::exact_int8({});
  REQUIRE(e);
  CHECK(e->q.empty());
  // Integers up to 127 are their own grid (exponent 0); 254 needs 2.
  auto i = compact::exact_int8({127.f, -3.f});
  REQUIRE(i);
  CHECK(i->exp == 0);
  CHECK(i->q == std::vector<int8_t>{127, -3});
  auto d = compact::exact_int8({254.f, -4.f});
  REQUIRE(d);
  CHECK(d->exp == 1);
  CHECK(d->q == std::vector<int8_t>{127, -2});
  // Values a grid cannot hold are left as they are (they go as floats).
  const std::vector<float> tiny{1e-40f, 0.f};
  CHECK(compact::to_int8_grid(tiny) == tiny);
}

TEST_CASE("compact: quarter-pixel boxes") {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-100.f, 4000.f);
  for (int i = 0; i < 1000; ++i) {
    const box b{u(rng), u(rng), std::fabs(u(rng)), std::fabs(u(rng))};
    const box g = compact::to_quarter_pixels(b);
    CHECK(std::fabs(g.x - b.x) <= 0.125f);
    CHECK(std::fabs(g.y - b.y) <= 0.125f);
    CHECK(std::fabs(g.w - b.w) <= 0.125f);
    CHECK(std::fabs(g.h - b.h) <= 0.125f);
    auto q = compact::exact_quarter_pixels(g);
    REQUIRE(q);
    CHECK(compact::from_quarter_pixels(*q) == g);
  }
  CHECK_FALSE(compact::exact_quarter_pixels(box{0.1f, 0, 1, 1}).has_value());
  const box far{9000.f, 0, 10, 10}; // beyond int16 quarter pixels: stays a float box
  CHECK(compact::to_quarter_pixels(far) == far);
  CHECK_FALSE(compact::exact_quarter_pixels(far).has_value());
}

TEST_CASE("compact: a detection batch keeps the appearance the tracker reads") {
  std::mt19937 rng(5);
  detection_batch b;
  detection with_both{{10.3f, 20.6f, 30.1f, 60.9f}, 0.8f, 0, unit_vector(rng, 176, true), unit_vector(rng, 128, false)};
  detection descriptor_only{{1, 2, 3, 4}, 0.7f, 0, unit_vector(rng, 176, true), {}};
  b.detections = {with_both, descriptor_only};

  auto h = b;
  compact::compact_for_link(h, compact::appearance::handcrafted);
  CHECK(h.detections[0].embedding.empty());
  CHECK(h.detections[0].feature == compact::to_int8_grid(with_both.feature));
  CHECK(h.detections[0].bbox == with_both.bbox); // exact: IoU and zones read it
  CHECK(h.detections[0].score == with_both.score);

  auto d = b;
  compact::compact_for_link(d, compact::appearance::dnn);
  CHECK(d.detections[0].feature.empty());
  CHECK(d.detections[0].embedding == compact::to_int8_grid(with_both.embedding));
  // No embedding: the tracker falls back to the descriptor, so it stays.
  CHECK(d.detections[1].feature == compact::to_int8_grid(descriptor_only.feature));
}

TEST_CASE("compact: track events keep appearance only when they end") {
  std::mt19937 rng(9);
  track_batch b;
  for (auto s : {track_state::started, track_state::updated, track_state::ended}) {
    track_event e;
    e.state = s;
    e.bbox = {5.05f, 6.2f, 7.3f, 8.4f};
    e.score = 0.9f;
    e.feature = unit_vector(rng, 176, true);
    b.events.push_back(e);
  }
  const auto ended_feature = b.events[2].feature;
  compact::compact_for_link(b);
  CHECK(b.events[0].feature.empty());
  CHECK(b.events[1].feature.empty());
  CHECK(b.events[2].feature == compact::to_int8_grid(ended_feature));
  for (const auto& e : b.events) {
    CHECK(e.score == 0);
    CHECK(e.bbox == compact::to_quarter_pixels(box{5.05f, 6.2f, 7.3f, 8.4f}));
  }
}

TEST_CASE(
  "compact: with update features (re-id here guesses live ids) every event keeps its feature, on the int8 grid") {
  std::mt19937 rng{11};
  track_batch b;
  for (auto s : {track_state::started, track_state::updated, track_state::ended}) {
    track_event e;
    e.state = s;
    e.feature = unit_vector(rng, 176, true);
    b.events.push_back(e);
  }
  const auto original = b;
  compact::compact_for_link(b, true);
  for (size_t i = 0; i < b.events.size(); ++i) {
    CHECK_FALSE(b.events[i].feature.empty());
    CHECK(b.events[i].feature == compact::to_int8_grid(original.events[i].feature));
  }
}

TEST_CASE("compact: live ids over the mesh keep an update's feature at most every period per track") {
  std::mt19937 rng(4);
  std::map<uint64_t, timestamp_ms> kept;
  auto event = [&](uint64_t track, timestamp_ms t, track_state s) {
    track_event e;
    e.track_id = track;
    e.time_ms = t;
    e.state = s;
    e.feature = unit_vector(rng, 8, false);
    return e;
  };
  auto kept_features = [&](track_batch b) {
    compact::thin_update_features(b, kept, 200);
    std::vector<bool> out;
    for (const auto& e : b.events) out.push_back(!e.feature.empty());
    return out;
  };
  track_batch b;
  b.events = {event(1, 0, track_state::started), event(2, 0, track_state::updated)};
  CHECK(kept_features(b) == std::vector<bool>{true, true}); // each track's first
  b.events = {event(1, 100, track_state::updated), event(2, 100, track_state::updated)};
  CHECK(kept_features(b) == std::vector<bool>{false, false});
  b.events = {event(1, 200, track_state::updated), event(2, 150, track_state::updated)};
  CHECK(kept_features(b) == std::vector<bool>{true, false});
  // An ended track keeps its feature (re-id's final match) and is forgotten.
  b.events = {event(2, 250, track_state::ended)};
  CHECK(kept_features(b) == std::vector<bool>{true});
  CHECK(kept.count(2) == 0);
  CHECK(kept.count(1) == 1);
  // Over a second of 10 fps updates, a track sends 5 features.
  int sent = 0;
  for (timestamp_ms t = 300; t < 1300; t += 100) {
    b.events = {event(1, t, track_state::updated)};
    sent += kept_features(b)[0];
  }
  CHECK(sent == 5);
}
