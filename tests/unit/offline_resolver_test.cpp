// The offline resolver on synthetic tracklets with known truth: merges of
// people online split, splits of impossible online people, and each
// constraint on its own; the schedule's windows.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "actors/reid/offline_resolver.hpp"
#include "actors/reid/resolve_pass.hpp"

using namespace weaver;

namespace {

// A person's look: a random unit direction; each tracklet a noisy copy.
std::vector<float> look(uint32_t seed, size_t dims = 48) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> f(dims);
  for (auto& v : f) v = u(rng);
  return f;
}

std::vector<float> noisy(std::vector<float> f, std::mt19937& rng, float sigma) {
  std::normal_distribution<float> n(0.f, sigma);
  for (auto& v : f) v = std::max(0.f, v + n(rng));
  return f;
}

tracklet make(uint32_t cam, uint64_t track, uint64_t person, timestamp_ms enter, timestamp_ms exit,
              const std::vector<float>& f, box entry = {0, 100, 20, 50}, box exit_box = {280, 100, 20, 50}) {
  tracklet t;
  t.camera_id = cam;
  t.track_id = track;
  t.person_id = person;
  t.enter_ms = enter;
  t.exit_ms = exit;
  t.entry_box = entry;
  t.exit_box = exit_box;
  t.confidence = 1;
  t.feature = quantise_feature(f);
  return t;
}

// The merging by group means on (off by default), as these cases test it.
resolver_config means() {
  resolver_config cfg;
  cfg.link_threshold = 0.83f;
  return cfg;
}

// Whether two tracklets were given one person.
bool same(const resolution& r, size_t a, size_t b) { return r.person[a] == r.person[b]; }

} // namespace

TEST_CASE("resolver: people online split into pieces are joined again, strangers are not") {
  // Five people walk cameras 1 -> 2 -> 3 (2 s transits, 10 s on each), a
  // few seconds apart; online gave every tracklet its own id.
  std::mt19937 rng(7);
  std::vector<tracklet> ts;
  std::vector<int> truth;
  uint64_t track = 1;
  for (int p = 0; p < 5; ++p) {
    const auto base = look(100 + static_cast<uint32_t>(p));
    timestamp_ms t = 1000 + p * 3000;
    for (uint32_t cam = 1; cam <= 3; ++cam) {
      ts.push_back(make(cam, track, track, t, t + 10000, noisy(base, rng, 0.05f)));
      ++track;
      truth.push_back(p);
      t += 12000;
    }
  }
  resolver_config cfg = means();
  auto r = offline_resolver{cfg}.resolve(ts, 1000);
  CHECK(r.people == 5);
  for (size_t a = 0; a < ts.size(); ++a)
    for (size_t b = 0; b < ts.size(); ++b) CHECK(same(r, a, b) == (truth[a] == truth[b]));
  // Whole online people went into others: merges, each into an online id.
  CHECK(r.merges.size() == 10);
  CHECK(r.moved.empty());
  for (auto& m : r.merges) CHECK(m.into < 1000);
}

TEST_CASE("resolver: one person is never on one camera twice at once") {
  const auto f = look(1);
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, f), make(1, 2, 2, 5000, 15000, f)};
  auto r = offline_resolver{means()}.resolve(ts, 100);
  CHECK_FALSE(same(r, 0, 1));
  // One after the other on the same camera: a fragment, joined.
  ts[1].enter_ms = 10500;
  ts[1].exit_ms = 20000;
  ts[1].entry_box = ts[0].exit_box;
  r = offline_resolver{means()}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
}

TEST_CASE("resolver: two cameras at once only when their views overlap") {
  const auto f = look(2);
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, f), make(2, 1, 2, 3000, 13000, f)};
  resolver_config cfg = means();
  auto r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK_FALSE(same(r, 0, 1)); // 7 s on both at once: impossible for separate views
  // A moment on both (crossing a shared edge) is allowed.
  ts[1].enter_ms = 9000;
  ts[1].exit_ms = 19000;
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
  // Configured overlap (negative min transit): 7 s on both at once is fine.
  ts[1].enter_ms = 3000;
  ts[1].exit_ms = 13000;
  cfg.links = {{1, 2, -20000, 10000}, {2, 1, -20000, 10000}};
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
}

TEST_CASE("resolver: overlapping views are learned from people online saw on both at once") {
  std::mt19937 rng(3);
  std::vector<tracklet> ts;
  // Two people online on cameras 1 and 2 at once (5 s): the views overlap.
  for (uint64_t p = 1; p <= 2; ++p) {
    auto f = look(static_cast<uint32_t>(10 + p));
    timestamp_ms t = static_cast<timestamp_ms>(p) * 60000;
    ts.push_back(make(1, p, p, t, t + 10000, noisy(f, rng, 0.03f)));
    ts.push_back(make(2, p, p, t + 5000, t + 15000, noisy(f, rng, 0.03f)));
  }
  // A third, split online, on both at once too.
  auto f = look(20);
  ts.push_back(make(1, 3, 3, 200000, 210000, noisy(f, rng, 0.03f)));
  ts.push_back(make(2, 3, 4, 205000, 215000, noisy(f, rng, 0.03f)));
  resolver_config cfg = means();
  auto r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 4, 5));
  CHECK(same(r, 0, 1));
  // With one such person only, the views are not taken to overlap.
  cfg.overlap_min_people = 3;
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK_FALSE(same(r, 4, 5));
  CHECK_FALSE(same(r, 0, 1));
  cfg.from_online = true; // the two online people on both at once are split
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(r.split_out == 2);
  CHECK_FALSE(same(r, 0, 1));
}

TEST_CASE("resolver: an impossible online person is split, the piece gets a new id") {
  const auto a = look(30), b = look(31);
  // Online put both on person 5: on cameras 1 and 2 at once for 8 s.
  std::vector<tracklet> ts{make(1, 1, 5, 0, 10000, a), make(2, 1, 5, 2000, 12000, b)};
  resolver_config cfg = means();
  cfg.from_online = true;
  auto r = offline_resolver{cfg}.resolve(ts, 1u << 20);
  CHECK(r.split_out == 1);
  CHECK_FALSE(same(r, 0, 1));
  CHECK(r.person[0] == 5); // the first keeps the online id
  CHECK(r.person[1] == (1u << 20));
  CHECK(r.moved == std::vector<size_t>{1});
  CHECK(r.merges.empty());
  // From single tracklets the same comes out, without a split to make.
  cfg.from_online = false;
  auto s = offline_resolver{cfg}.resolve(ts, 1u << 20);
  CHECK(s.person == r.person);
  CHECK(s.split_out == 0);
}

TEST_CASE("resolver: configured links bound the transit time") {
  const auto f = look(40);
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, f), make(2, 1, 2, 11000, 20000, f)};
  resolver_config cfg = means();
  CHECK(same(offline_resolver{cfg}.resolve(ts, 100), 0, 1));
  cfg.links = {{1, 2, 5000, 60000}}; // at least 5 s from 1 to 2
  CHECK_FALSE(same(offline_resolver{cfg}.resolve(ts, 100), 0, 1));
  ts[1].enter_ms = 16000;
  ts[1].exit_ms = 26000;
  CHECK(same(offline_resolver{cfg}.resolve(ts, 100), 0, 1));
}

TEST_CASE("resolver: appearance alone decides far from any edge or handover") {
  // Two different people, far apart in look (colours in disjoint halves),
  // one after the other on two cameras: a handover alone does not join them.
  auto a = look(50), b = look(51);
  for (size_t k = 0; k < a.size(); ++k) (k < a.size() / 2 ? b : a)[k] = 0;
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, a), make(2, 1, 2, 11000, 20000, b)};
  auto r = offline_resolver{means()}.resolve(ts, 100);
  CHECK_FALSE(same(r, 0, 1));
  CHECK(r.merges.empty());
  CHECK(r.moved.empty());
  // Beyond max_gap they are never compared, however alike.
  const auto f = look(52);
  ts = {make(1, 1, 1, 0, 10000, f), make(2, 1, 2, 200000, 210000, f)};
  CHECK_FALSE(same(offline_resolver{means()}.resolve(ts, 100), 0, 1));
}

TEST_CASE("resolver: deterministic and empty-safe") {
  CHECK(offline_resolver{means()}.resolve({}, 1).people == 0);
  std::mt19937 rng(9);
  std::vector<tracklet> ts;
  for (uint64_t i = 0; i < 60; ++i)
    ts.push_back(make(static_cast<uint32_t>(1 + i % 4), i, i + 1, static_cast<timestamp_ms>(i) * 1500,
                      static_cast<timestamp_ms>(i) * 1500 + 8000,
                      noisy(look(static_cast<uint32_t>(i % 7)), rng, 0.1f)));
  ts[5].feature.clear(); // a track without a feature stays as it was
  auto a = offline_resolver{means()}.resolve(ts, 500), b = offline_resolver{means()}.resolve(ts, 500);
  CHECK(a.person == b.person);
  CHECK(a.person[5] == ts[5].person_id);
}

TEST_CASE("resolve schedule: whole windows closed lag before the data time") {
  resolve_schedule s;
  s.every_ms = 1000;
  s.window_ms = 10000;
  s.lag_ms = 5000;
  // Nothing stored: nothing due.
  CHECK(due_windows(s, 100000, std::nullopt, std::nullopt).empty());
  // First tracklet at 23 s, data at 47 s: [20, 30) and [30, 40) are closed by 42 s.
  auto w = due_windows(s, 47000, std::nullopt, 23000);
  REQUIRE(w.size() == 2);
  CHECK(w[0] == std::make_pair<timestamp_ms, timestamp_ms>(20000, 30000));
  CHECK(w[1] == std::make_pair<timestamp_ms, timestamp_ms>(30000, 40000));
  // After the latest resolved one.
  w = due_windows(s, 47000, 30000, 23000);
  REQUIRE(w.size() == 1);
  CHECK(w[0].first == 30000);
  CHECK(due_windows(s, 44999, 30000, 23000).empty());
  s.every_ms = 0; // off
  CHECK(due_windows(s, 47000, std::nullopt, 23000).empty());
}

TEST_CASE("resolver: from the online people the result is a fixed point, a second pass changes nothing") {
  // Camera 1 -> 2 transits learnt from online links: 0.5 s and 1 s. A third
  // person's two pieces (5 s apart, alike) are merged; that link widens the
  // learnt transit so that a fourth person's pieces (5.5 s apart, less alike)
  // now fit a handover and reach the threshold with its bonus. One pass
  // learnt its evidence from the online ids only and stopped before that.
  auto unit = [](size_t i, size_t j = 0, float c = 1.f) {
    std::vector<float> f(16, 0.f);
    f[i] = c;
    if (c < 1.f) f[j] = std::sqrt(1.f - c * c);
    return f;
  };
  const box b{0, 0, 10, 20}; // every box at the (tiny) views' edges
  std::vector<tracklet> ts{
    make(1, 1, 1, 0, 1000, unit(0), b, b),      make(2, 1, 1, 1500, 2500, unit(0), b, b),
    make(1, 2, 2, 10000, 11000, unit(1), b, b), make(2, 2, 2, 12000, 13000, unit(1), b, b),
    make(1, 3, 3, 20000, 21000, unit(2), b, b), make(2, 3, 4, 26000, 27000, unit(2, 3, 0.95f), b, b),
    make(1, 4, 5, 40000, 41000, unit(4), b, b), make(2, 4, 6, 46500, 47500, unit(4, 5, 0.76f), b, b),
  };
  resolver_config cfg = means();
  cfg.from_online = true;
  offline_resolver r(cfg);
  auto first = r.resolve(ts, 100);
  CHECK(same(first, 4, 5));
  CHECK(same(first, 6, 7));
  CHECK_FALSE(same(first, 0, 2));
  CHECK(first.people == 4);
  auto again = ts;
  for (size_t i = 0; i < again.size(); ++i) again[i].person_id = first.person[i];
  auto second = r.resolve(again, 100);
  CHECK(second.merges.empty());
  CHECK(second.moved.empty());
  CHECK(second.person == first.person);
}

TEST_CASE("resolver: an id merged away names no tracklet afterwards") {
  // The store applies moves, then merges (every row of `from` to `into`): a
  // tracklet moved to an id that is also merged away would end elsewhere
  // than the pass said. Many random windows, online ids mixed up on purpose.
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> person(1, 8), cam(1, 3), online(1, 10);
    std::vector<tracklet> ts;
    for (uint64_t i = 0; i < 40; ++i) {
      const timestamp_ms t = static_cast<timestamp_ms>(i) * 2500;
      ts.push_back(make(static_cast<uint32_t>(cam(rng)), i, static_cast<uint64_t>(online(rng)), t, t + 2000,
                        noisy(look(static_cast<uint32_t>(person(rng))), rng, 0.08f)));
    }
    const auto r = offline_resolver{means()}.resolve(ts, 1000);
    std::set<uint64_t> gone;
    for (const auto& m : r.merges) gone.insert(m.from);
    for (size_t i = 0; i < ts.size(); ++i) {
      CAPTURE(seed);
      CAPTURE(i);
      CHECK(gone.count(r.person[i]) == 0);
    }
  }
}

namespace {

// a * A + b * B for A, B unit vectors on disjoint halves: cos(A, B) = 0, so
// two such features have the cosine of their (a, b) directions.
std::vector<float> mix(float a, float b, size_t dims = 48) {
  std::vector<float> f(dims);
  for (size_t k = 0; k < dims; ++k) f[k] = k < dims / 2 ? a : b;
  return f;
}

// Only the handover links act (the merging by group means and re-chaining are off).
resolver_config links_only() {
  resolver_config cfg = means();
  cfg.link_threshold = 2.5f;
  cfg.rechain_threshold = 2.0f;
  return cfg;
}

} // namespace

TEST_CASE("resolver: handover links are one-to-one, each tracklet to its mutual best") {
  // P and Q leave camera 1 and enter camera 2 together; online split all four.
  // P1 passes the threshold with both on camera 2 (0.98 with P2, 0.90 with
  // Q2), and Q1 with both too (0.97, 1.0): only the mutual best pairs link.
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, mix(1, 0)), make(1, 2, 2, 0, 10000, mix(0.9f, 0.436f)),
                           make(2, 1, 3, 10500, 20000, mix(0.98f, 0.2f)),
                           make(2, 2, 4, 10600, 20000, mix(0.9f, 0.436f))};
  auto r = offline_resolver{links_only()}.resolve(ts, 100);
  CHECK(same(r, 0, 2));
  CHECK(same(r, 1, 3));
  CHECK_FALSE(same(r, 0, 1));
  CHECK(r.people == 2);
  CHECK(r.links == 2);
  // Below the link threshold nothing is linked; off (0 s) neither.
  auto cfg = links_only();
  cfg.handover_link_threshold = 0.995f;
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(r.people == 3); // Q1 -> Q2 alone (1.0) still links
  cfg = links_only();
  cfg.handover_link_ms = 0;
  CHECK(offline_resolver{cfg}.resolve(ts, 100).people == 4);
  // Entering later than handover_link_ms after the exit: no link.
  cfg = links_only();
  ts[2].enter_ms = ts[3].enter_ms = 10000 + cfg.handover_link_ms + 1;
  CHECK(offline_resolver{cfg}.resolve(ts, 100).people == 4);
}

TEST_CASE("resolver: a weaker earlier join that blocks a stronger handover is undone") {
  // Online joined x (camera 1) to w (camera 3, similarity 0.6); y enters
  // camera 2 as x leaves, with x's look (1.0), while w is on camera 3: the
  // link x -> y breaks "never on two cameras at once" because of w.
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, mix(1, 0)), make(3, 1, 1, 10500, 20000, mix(0.6f, 0.8f)),
                           make(2, 1, 2, 10500, 20000, mix(1, 0))};
  auto r = offline_resolver{links_only()}.resolve(ts, 100);
  CHECK(same(r, 0, 2));
  CHECK_FALSE(same(r, 0, 1));
  CHECK(r.evicted == 1);
  CHECK(r.person[0] == 1);
  // Never taking a join out, the link is refused and online stands.
  auto cfg = links_only();
  cfg.evict_margin = 2;
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
  CHECK_FALSE(same(r, 0, 2));
  CHECK(r.evicted == 0);
  // Nor when the join is within evict_margin of the link (0.6 vs 1.0).
  cfg = links_only();
  cfg.evict_margin = 0.5f;
  CHECK(same(offline_resolver{cfg}.resolve(ts, 100), 0, 1));
  // A join as strong as the link stays: w with x's look is x's best
  // successor, so y (0.95) is no mutual best and is left alone.
  ts[1].feature = quantise_feature(mix(1, 0));
  ts[2].feature = quantise_feature(mix(0.95f, 0.31f));
  r = offline_resolver{links_only()}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
  CHECK_FALSE(same(r, 0, 2));
  // The result is a fixed point: a second pass changes nothing.
  ts[1].feature = quantise_feature(mix(0.6f, 0.8f));
  ts[2].feature = quantise_feature(mix(1, 0));
  r = offline_resolver{links_only()}.resolve(ts, 100);
  auto again = ts;
  for (size_t i = 0; i < ts.size(); ++i) again[i].person_id = r.person[i];
  auto r2 = offline_resolver{links_only()}.resolve(again, 100);
  CHECK(r2.moved.empty());
  CHECK(r2.merges.empty());
}

TEST_CASE("resolver: a strong refused link re-chains its two groups at the link") {
  // P walks camera 1 (x) then camera 2 (y). Online joined x to Q, who
  // entered camera 2 just before y did (u) and went on to camera 3 (u2), so
  // y got an id of its own. The link x -> y (1.0) is refused (u and y are
  // on camera 2 at once) and u, held by u2 at 1.0, cannot be taken out.
  const auto p = mix(1, 0), q = mix(0.6f, 0.8f);
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, p), make(2, 1, 1, 10200, 14000, q), make(3, 1, 1, 14500, 25000, q),
                           make(2, 2, 2, 10500, 20000, p)};
  auto cfg = links_only();
  cfg.rechain_threshold = 0.9f;
  auto r = offline_resolver{cfg}.resolve(ts, 100);
  // x up to the link joins y; Q's walk (u, u2) keeps to itself.
  CHECK(same(r, 0, 3));
  CHECK(same(r, 1, 2));
  CHECK_FALSE(same(r, 0, 1));
  CHECK(r.rechained == 1);
  CHECK(r.people == 2);
  // A second pass over the result changes nothing.
  auto again = ts;
  for (size_t i = 0; i < ts.size(); ++i) again[i].person_id = r.person[i];
  auto r2 = offline_resolver{cfg}.resolve(again, 100);
  CHECK(r2.moved.empty());
  CHECK(r2.merges.empty());
  // Off: online stands.
  cfg.rechain_threshold = 2;
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
  CHECK_FALSE(same(r, 0, 3));
  CHECK(r.rechained == 0);
  // Nor when x's group holds its pieces within rechain_margin of the link
  // (x to u at 0.6 against 1.0 - 0.5).
  cfg.rechain_threshold = 0.9f;
  cfg.rechain_margin = 0.5f;
  CHECK(same(offline_resolver{cfg}.resolve(ts, 100), 0, 1));
  // Nor for a link weaker than rechain_threshold (y at 0.95 with x).
  cfg.rechain_margin = 0;
  cfg.rechain_threshold = 0.97f;
  ts[3].feature = quantise_feature(mix(0.95f, 0.312f));
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
  CHECK(r.rechained == 0);
}

TEST_CASE("resolver: only pairs close in time hold the pieces of a re-chain together") {
  // As above, y at 0.99 with x; online also gave x's person h, a minute
  // earlier on camera 3, with Q's look: h and u (1.0) would hold the two
  // pieces together, but they are a minute apart.
  const auto p = mix(1, 0), q = mix(0.6f, 0.8f);
  std::vector<tracklet> ts{make(3, 2, 1, -60000, -50000, q), make(1, 1, 1, 0, 10000, p), make(2, 1, 1, 10200, 14000, q),
                           make(3, 1, 1, 14500, 25000, q), make(2, 2, 2, 10500, 20000, mix(0.99f, 0.141f))};
  auto cfg = links_only();
  cfg.rechain_threshold = 0.9f;
  CHECK(cfg.rechain_hold_ms == 10000); // the default
  auto r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 1, 4));
  CHECK(same(r, 2, 3));
  CHECK(r.rechained == 1);
  // Any pair holding (0): h and u keep x with Q.
  cfg.rechain_hold_ms = 0;
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 1, 2));
  CHECK_FALSE(same(r, 1, 4));
  CHECK(r.rechained == 0);
}

TEST_CASE("resolver: a link end its group holds weakly moves when the groups cannot join") {
  // Online joined x (camera 1, P's look) to u and u2 (Q, camera 2 then 3).
  // y enters camera 2 as x leaves, with x's look: the link x -> y cannot
  // join the groups (u is on camera 2 with y), and u is held by u2 (1.0)
  // as strongly as the link, so no eviction frees it.
  std::vector<tracklet> ts{make(1, 1, 1, 0, 10000, mix(1, 0)), make(2, 1, 1, 9000, 20000, mix(0.6f, 0.8f)),
                           make(3, 1, 1, 21000, 30000, mix(0.6f, 0.8f)), make(2, 2, 2, 10500, 20000, mix(1, 0))};
  // Off (the default): online stands.
  auto r = offline_resolver{links_only()}.resolve(ts, 100);
  CHECK(same(r, 0, 1));
  CHECK_FALSE(same(r, 0, 3));
  CHECK(r.moved_ends == 0);
  // On: x, held by its group at 0.6, goes to y; Q keeps u and u2.
  auto cfg = links_only();
  cfg.move_threshold = 0.9f;
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(same(r, 0, 3));
  CHECK_FALSE(same(r, 0, 1));
  CHECK(same(r, 1, 2));
  CHECK(r.moved_ends == 1);
  CHECK(r.people == 2);
  // Not for a link weaker than move_threshold.
  cfg.move_threshold = 1.5f;
  CHECK(same(offline_resolver{cfg}.resolve(ts, 100), 0, 1));
  // Nor when x does not fit y's group (z, with y online, is on camera 1
  // with x) and y is held by z as strongly as by the link.
  ts.push_back(make(1, 2, 2, 5000, 9000, mix(1, 0)));
  r = offline_resolver{cfg}.resolve(ts, 100);
  CHECK(r.moved_ends == 0);
  CHECK(same(r, 0, 1));
  CHECK(same(r, 3, 4));
}

TEST_CASE("resolver: on views of one source one person is never further apart than they could walk") {
  // Two 300 x 200 views side by side of one source (camera 2 at source x 300).
  resolver_config cfg = means();
  cfg.from_online = true;
  for (uint32_t id : {1u, 2u}) cfg.handoff.views.push_back(crop_view(id, "s.avi", id == 1 ? 0 : 300, 0, 300, 200));
  cfg.handoff_speed = 2.0f;
  const auto a = look(70);
  // Online joined them: camera 1's exit at source (290, 150) at 10 s,
  // camera 2's entry 1 s later at source (310, 150) (near: one person) or
  // at source (590, 150) (6 body heights off: not them).
  for (float x : {10.f, 290.f}) {
    CAPTURE(x);
    std::vector<tracklet> ts{make(1, 1, 5, 0, 10000, a, {0, 100, 20, 50}, {280, 100, 20, 50}),
                             make(2, 1, 5, 11000, 20000, a, {x - 10, 100, 20, 50}, {280, 100, 20, 50})};
    auto r = offline_resolver{cfg}.resolve(ts, 1u << 20);
    CHECK(same(r, 0, 1) == (x < 100));
    auto off = cfg;
    off.handoff_speed = 0;
    CHECK(same(offline_resolver{off}.resolve(ts, 1u << 20), 0, 1));
  }
  // Handed tracklets (estimated boxes) are not held to it.
  std::vector<tracklet> ts{make(1, 1, 5, 0, 10000, a, {0, 100, 20, 50}, {280, 100, 20, 50}),
                           make(2, handed_track_id(1, 1), 5, 11000, 20000, a, {280, 100, 20, 50})};
  CHECK(same(offline_resolver{cfg}.resolve(ts, 1u << 20), 0, 1));
}
