#include "actors/reid/appearance_metric.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "accel/detect/appearance.hpp"
#include "actors/reid/reid_engine.hpp"

using namespace weaver;

namespace {

// Synthetic descriptors, 12 long: dims 0-3 tell people apart (each person's
// own mean, little noise), dims 4-7 are a nuisance (pose, background) that
// changes along a track, larger than the identity, and dims 8-11 hold faint
// noise (the principal components a fit drops). Raw cosine similarity is
// dominated by the nuisance; the learnt metric should discount it.
constexpr size_t synth_dims = 12;

struct synth_world {
  std::mt19937 rng{7};
  std::vector<std::vector<float>> people; // identity means

  explicit synth_world(size_t n) {
    std::normal_distribution<float> g(0.f, 1.f);
    for (size_t p = 0; p < n; ++p) {
      std::vector<float> m(4);
      for (auto& v : m) v = g(rng);
      people.push_back(m);
    }
  }
  std::vector<float> draw(size_t person) {
    std::normal_distribution<float> small(0.f, 0.15f), big(0.f, 2.0f), faint(0.f, 0.02f);
    std::vector<float> f(synth_dims);
    for (size_t k = 0; k < 4; ++k) f[k] = people[person][k] + small(rng);
    for (size_t k = 4; k < 8; ++k) f[k] = 4.0f + big(rng); // a shared offset: raw cosines are high
    for (size_t k = 8; k < synth_dims; ++k) f[k] = faint(rng);
    return f;
  }
  // Camera 1 sees all people at once for `frames` frames, 200 ms apart: one
  // track each.
  std::vector<metric_sample> tracks(int frames) {
    std::vector<metric_sample> out;
    for (int f = 0; f < frames; ++f)
      for (size_t p = 0; p < people.size(); ++p) out.push_back({0, 1, p + 1, f * 200, draw(p)});
    return out;
  }
};

float dot(const std::vector<float>& a, const std::vector<float>& b) { return cosine_similarity(a, b); }

// Share of (same, different) pairs ordered right: ROC AUC of same-person
// pairs against different-person pairs of fresh draws.
double separation(synth_world& w, const appearance_metric& m) {
  std::vector<std::pair<size_t, std::vector<float>>> xs;
  for (int r = 0; r < 20; ++r)
    for (size_t p = 0; p < w.people.size(); ++p) xs.push_back({p, m.apply(w.draw(p))});
  std::vector<float> same, diff;
  for (size_t i = 0; i < xs.size(); ++i)
    for (size_t j = i + 1; j < xs.size(); ++j)
      (xs[i].first == xs[j].first ? same : diff).push_back(dot(xs[i].second, xs[j].second));
  size_t right = 0;
  for (float s : same)
    for (float d : diff) right += s > d;
  return double(right) / double(same.size() * diff.size());
}

// A metric of `dims` learnt from `frames` frames of w's tracks, pairs 1 s apart.
appearance_metric learnt(synth_world& w, size_t dims, int frames, metric_fit_report* rep = nullptr) {
  metric_fit_options o;
  o.dims = dims;
  o.min_apart_ms = 1000;
  return appearance_metric::fit(w.tracks(frames), o, rep);
}

} // namespace

TEST_CASE("appearance metric: learnt from tracks alone, it separates people that raw similarity confuses") {
  synth_world w(8);
  metric_fit_report rep;
  const auto m = learnt(w, 8, 60, &rep);
  CHECK(rep.samples == 480);
  CHECK(rep.tracks == 8);
  CHECK(rep.positives > 0);
  CHECK(rep.negatives == 60 * 28); // every pair of the 8 tracks, every frame
  CHECK(m.input_dims() == synth_dims);
  CHECK(m.output_dims() == 8);
  const double raw = separation(w, appearance_metric{}), learnt = separation(w, m);
  MESSAGE("AUC raw " << raw << ", learnt " << learnt);
  CHECK(raw < 0.8);
  CHECK(learnt > 0.95);
  // Unit length out.
  auto y = m.apply(w.draw(0));
  double n = 0;
  for (float v : y) n += double(v) * v;
  CHECK(n == doctest::Approx(1.0).epsilon(1e-4));
}

TEST_CASE("appearance metric: runs are apart: the same camera and track ids in two runs are two tracks") {
  synth_world w(8);
  auto samples = w.tracks(60);
  auto other = w.tracks(60);
  for (auto& s : other) s.run = 1;
  samples.insert(samples.end(), other.begin(), other.end());
  metric_fit_options o;
  o.dims = 8;
  o.min_apart_ms = 1000;
  metric_fit_report rep;
  appearance_metric::fit(samples, o, &rep);
  CHECK(rep.tracks == 16);
  CHECK(rep.negatives == 2 * 60 * 28); // no pairs across runs
}

TEST_CASE("appearance metric: the input's order does not matter") {
  synth_world w(5);
  auto samples = w.tracks(30);
  metric_fit_options o;
  o.dims = 6;
  o.min_apart_ms = 1000;
  const auto a = appearance_metric::fit(samples, o);
  std::shuffle(samples.begin(), samples.end(), std::mt19937(3));
  const auto b = appearance_metric::fit(samples, o);
  CHECK(a.to_json() == b.to_json());
}

TEST_CASE("appearance metric: what it cannot learn from is refused") {
  synth_world w(3);
  metric_fit_options o;
  o.dims = 6;
  o.min_apart_ms = 1000;
  CHECK_THROWS_AS(appearance_metric::fit({}, o), std::invalid_argument);
  // 1.2 s of tracks: one pair a second apart per track, too few for 6 dimensions.
  CHECK_THROWS_AS(appearance_metric::fit(w.tracks(6), o), std::invalid_argument);
  // One person alone: no two people at once.
  synth_world one(1);
  CHECK_THROWS_AS(appearance_metric::fit(one.tracks(100), o), std::invalid_argument);
  auto mixed = w.tracks(50);
  mixed[7].feature.push_back(1.f);
  CHECK_THROWS_AS(appearance_metric::fit(mixed, o), std::invalid_argument);
  o.dims = 0;
  CHECK_THROWS_AS(appearance_metric::fit(w.tracks(50), o), std::invalid_argument);
}

TEST_CASE("appearance metric: JSON round trip, and malformed files are refused") {
  synth_world w(6);
  const auto m = learnt(w, 5, 40);
  const auto back = appearance_metric::from_json(m.to_json());
  const auto f = w.draw(2);
  const auto ya = m.apply(f), yb = back.apply(f);
  REQUIRE(ya.size() == yb.size());
  for (size_t k = 0; k < ya.size(); ++k) CHECK(ya[k] == doctest::Approx(yb[k]).epsilon(1e-6));

  auto j = m.to_json();
  CHECK_THROWS_AS(appearance_metric::from_json(nlohmann::json::array()), std::invalid_argument);
  auto bad = j;
  bad["kind"] = "pca";
  CHECK_THROWS_AS(appearance_metric::from_json(bad), std::invalid_argument);
  bad = j;
  bad["dims"] = 6; // transform too short for it
  CHECK_THROWS_AS(appearance_metric::from_json(bad), std::invalid_argument);
  bad = j;
  bad["mean"].erase(0);
  CHECK_THROWS_AS(appearance_metric::from_json(bad), std::invalid_argument);
  bad = j;
  bad["transform"][3] = "x";
  CHECK_THROWS_AS(appearance_metric::from_json(bad), std::invalid_argument);
  bad = j;
  bad["input_dims"] = -1;
  CHECK_THROWS_AS(appearance_metric::from_json(bad), std::invalid_argument);
  CHECK_THROWS_AS(appearance_metric::load("/nonexistent/metric.json"), std::runtime_error);
}

TEST_CASE("appearance metric: no metric, or a descriptor of another length, passes through unchanged") {
  const std::vector<float> f{0.5f, 0.5f, 0.7f};
  CHECK(appearance_metric{}.apply(f) == f);
  synth_world w(4);
  const auto m = learnt(w, 4, 40);
  CHECK(m.apply(f) == f);
  CHECK(m.apply({}).empty());
}

namespace {

// One track on `camera` from `from_ms` to `to_ms` (100 ms frames) with one
// descriptor throughout.
std::vector<track_batch> one_track(uint32_t camera, uint64_t track, timestamp_ms from_ms, timestamp_ms to_ms,
                                   const std::vector<float>& f) {
  std::vector<track_batch> out;
  for (timestamp_ms t = from_ms; t <= to_ms + 500; t += 100) {
    track_batch b;
    b.camera_id = camera;
    b.time_ms = t;
    track_event e;
    e.camera_id = camera;
    e.track_id = track;
    e.feature = f;
    e.bbox = {100, 100, 40, 100};
    e.time_ms = std::min(t, to_ms);
    e.state = t == from_ms ? track_state::started : t <= to_ms ? track_state::updated : track_state::ended;
    if (t > to_ms && t != to_ms + 500) continue;
    b.events.push_back(e);
    out.push_back(b);
  }
  return out;
}

size_t people_after(const reid_config& cfg, const std::vector<float>& a, const std::vector<float>& b) {
  reid_engine engine(cfg);
  engine.add_camera(1);
  engine.add_camera(2);
  std::set<uint64_t> ids;
  auto take = [&](const presence_batch& p) {
    for (const auto& i : p.identities) ids.insert(i.person_id);
  };
  for (const auto& x : one_track(1, 1, 0, 2000, a)) take(engine.on_tracks(x));
  for (const auto& x : one_track(2, 1, 2500, 4500, b)) take(engine.on_tracks(x));
  take(engine.flush());
  return ids.size();
}

} // namespace

TEST_CASE("re-id compares descriptors in the metric's space") {
  // Two people who differ only where the metric looks: raw, their
  // descriptors are over 0.89 alike (one person); in the metric's
  // space they are two.
  synth_world w(8);
  const auto m = learnt(w, 8, 60);
  std::vector<float> a(synth_dims, 0.f), b(synth_dims, 0.f);
  for (size_t k = 0; k < 4; ++k) a[k] = w.people[0][k], b[k] = w.people[1][k];
  for (size_t k = 4; k < 8; ++k) a[k] = b[k] = 4.f;
  REQUIRE(cosine_similarity(a, b) > 0.89f);
  REQUIRE(cosine_similarity(m.apply(a), m.apply(b)) < 0.5f);
  reid_config raw;
  raw.match_threshold = 0.89f;
  CHECK(people_after(raw, a, b) == 1);
  reid_config learnt = raw;
  learnt.metric = m;
  learnt.match_threshold = 0.5f;
  CHECK(people_after(learnt, a, b) == 2);
  // One person seen twice is still one.
  CHECK(people_after(learnt, a, a) == 1);
}
