// bench_resolve: the cost of the offline re-resolution over a generated day
// of many cameras. Cameras stand in a grid; people arrive all day and walk
// between neighbouring cameras (a few seconds' transit, 20-120 s on each,
// sometimes split into two tracks); online ids are a given share of pieces
// (each track keeps its person's id with probability --online-keep, else it
// is a new id, as online re-id undercounting does). The tracklets go into
// a SQLite store, then every window of the day is resolved from it, as the
// storage role's schedule does. Prints the time per window and for the day,
// resolver alone and with the store, and how close the result is to the
// generated truth. A benchmark, not a test.
//
// Usage: bench_resolve [--cameras N] [--people N] [--window-s S] [--dims D] [--from-online 0|1]
//                      [--rechain T] [--db FILE]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <vector>

#include "actors/reid/resolve_pass.hpp"
#include "actors/storage/store.hpp"

using namespace weaver;

namespace {

std::vector<float> random_look(std::mt19937& rng, size_t dims) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(dims);
  for (auto& x : v) x = u(rng) * u(rng); // non-negative, like the histogram descriptor
  return v;
}

std::vector<float> seen(const std::vector<float>& look, std::mt19937& rng, float sigma) {
  std::normal_distribution<float> n(0.f, sigma);
  auto v = look;
  for (auto& x : v) x = std::max(0.f, x + n(rng));
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
  int cameras = 100, people = 20000;
  double window_s = 3600;
  size_t dims = 176;
  double keep = 0.5;
  int from_online = resolver_config{}.from_online ? 1 : 0;
  float rechain = resolver_config{}.rechain_threshold; // > 1: off
  std::string db_path = (std::filesystem::temp_directory_path() / "bench_resolve.db").string();
  // Every option takes a value; anything else (also a lone --help) prints the
  // usage rather than starting a minutes-long run.
  for (int i = 1; i < argc; i += 2) {
    const char* opt = i + 1 < argc ? argv[i] : "";
    if (!std::strcmp(opt, "--cameras"))
      cameras = std::atoi(argv[i + 1]);
    else if (!std::strcmp(opt, "--people"))
      people = std::atoi(argv[i + 1]);
    else if (!std::strcmp(opt, "--window-s"))
      window_s = std::atof(argv[i + 1]);
    else if (!std::strcmp(opt, "--dims"))
      dims = static_cast<size_t>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(opt, "--online-keep"))
      keep = std::atof(argv[i + 1]);
    else if (!std::strcmp(opt, "--from-online"))
      from_online = std::atoi(argv[i + 1]);
    else if (!std::strcmp(opt, "--rechain"))
      rechain = static_cast<float>(std::atof(argv[i + 1]));
    else if (!std::strcmp(opt, "--db"))
      db_path = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: bench_resolve [--cameras N] [--people N] [--window-s S] [--dims D] "
                   "[--online-keep P] [--from-online 0|1] [--rechain T] [--db FILE]\n");
      return 2;
    }
  }
  if (cameras < 1 || people < 1 || window_s < 1 || dims < 1) return 2;

  // The day: people arrive uniformly over 24 h and visit 3-8 cameras each.
  std::mt19937 rng(2026);
  const int side = static_cast<int>(std::ceil(std::sqrt(double(cameras))));
  const timestamp_ms day0 = 1'795'000'000'000; // 2026-11-18, any day will do
  std::uniform_int_distribution<timestamp_ms> arrive(0, 86'400'000 - 1'200'000);
  std::uniform_int_distribution<int> visits(3, 8), stay(20'000, 120'000), transit(1'000, 8'000), cam0(0, cameras - 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<tracklet> all;
  std::vector<uint64_t> truth;
  uint64_t next_online = 1;
  std::map<uint32_t, uint64_t> next_track;
  for (int p = 0; p < people; ++p) {
    const auto look = random_look(rng, dims);
    const uint64_t id = next_online++;
    timestamp_ms t = day0 + arrive(rng);
    int cam = cam0(rng);
    for (int v = visits(rng); v > 0; --v) {
      const timestamp_ms end = t + stay(rng);
      // Sometimes the tracker loses the person mid-view: two pieces.
      std::vector<std::pair<timestamp_ms, timestamp_ms>> pieces{{t, end}};
      if (u(rng) < 0.2) pieces = {{t, (t + end) / 2 - 500}, {(t + end) / 2 + 500, end}};
      for (auto [a, b] : pieces) {
        tracklet x;
        x.camera_id = static_cast<uint32_t>(cam + 1);
        x.track_id = ++next_track[x.camera_id];
        x.person_id = u(rng) < keep ? id : next_online++;
        x.enter_ms = a;
        x.exit_ms = b;
        x.entry_box = {u(rng) < 0.5 ? 0.f : 600.f, 200, 40, 100};
        x.exit_box = {u(rng) < 0.5 ? 0.f : 600.f, 200, 40, 100};
        x.confidence = 1;
        x.feature = quantise_feature(seen(look, rng, 0.08f));
        all.push_back(std::move(x));
        truth.push_back(static_cast<uint64_t>(p));
      }
      // To a neighbour in the grid.
      const int r = cam / side, c = cam % side;
      int nr = r, nc = c;
      switch (rng() % 4) {
        case 0:
          nr = std::max(0, r - 1);
          break;
        case 1:
          nr = std::min(side - 1, r + 1);
          break;
        case 2:
          nc = std::max(0, c - 1);
          break;
        default:
          nc = std::min(side - 1, c + 1);
          break;
      }
      cam = std::min(cameras - 1, nr * side + nc);
      t = end + transit(rng);
    }
  }
  std::printf(
    "bench_resolve: %d cameras, %d people over 24 h, %zu tracklets (%zu-dim int8 features), "
    "online keeps %.0f%% of ids; windows of %.0f s\n\n",
    cameras, people, all.size(), dims, keep * 100, window_s);

  std::filesystem::remove(db_path);
  auto db = store::open(db_path);
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < all.size(); i += 1000) {
    presence_batch b;
    for (size_t j = i; j < std::min(all.size(), i + 1000); ++j) {
      b.rows.push_back({all[j].person_id, all[j].camera_id, all[j].enter_ms, all[j].exit_ms});
      b.identities.push_back({all[j].camera_id, all[j].track_id, all[j].person_id, 1});
      b.tracklets.push_back(all[j]);
    }
    db->write(b);
  }
  const double write_s = seconds_since(t0);

  resolver_config cfg;
  cfg.from_online = from_online != 0;
  cfg.rechain_threshold = rechain;
  const int64_t w = static_cast<int64_t>(window_s * 1000);
  double resolver_s = 0, worst_s = 0, worst_total_s = 0;
  size_t windows = 0, moved = 0, merges = 0, before = 0, after = 0, most = 0;
  t0 = std::chrono::steady_clock::now();
  for (timestamp_ms since = day0; since < day0 + 86'400'000; since += w) {
    auto t1 = std::chrono::steady_clock::now();
    auto r = resolve_window(*db, since, since + w, cfg);
    const double total = seconds_since(t1);
    ++windows;
    resolver_s += r.seconds;
    worst_s = std::max(worst_s, r.seconds);
    worst_total_s = std::max(worst_total_s, total);
    moved += r.moved;
    merges += r.merges;
    before += r.people_before;
    after += r.people_after;
    most = std::max(most, r.tracklets);
  }
  const double day_s = seconds_since(t0);

  // Against the truth: pairs of tracklets of one true person given one id
  // (recall) and pairs given one id that are one person (precision), within
  // each person's and each id's tracklets.
  std::map<uint64_t, std::vector<size_t>> by_id;
  std::map<std::pair<uint32_t, uint64_t>, size_t> index;
  for (size_t i = 0; i < all.size(); ++i) index[{all[i].camera_id, all[i].track_id}] = i;
  std::vector<uint64_t> now(all.size());
  for (const auto& t : db->tracklet_rows(day0 - 1, day0 + 2 * 86'400'000)) {
    size_t i = index.at({t.camera_id, t.track_id});
    now[i] = t.person_id;
    by_id[t.person_id].push_back(i);
  }
  auto pair_scores = [&](const std::vector<uint64_t>& ids) {
    std::map<uint64_t, std::vector<size_t>> groups;
    for (size_t i = 0; i < ids.size(); ++i) groups[ids[i]].push_back(i);
    double same_id = 0, same_both = 0;
    for (const auto& [g, xs] : groups)
      for (size_t a = 0; a < xs.size(); ++a)
        for (size_t b = a + 1; b < xs.size(); ++b) {
          same_id += 1;
          same_both += truth[xs[a]] == truth[xs[b]];
        }
    std::map<uint64_t, std::vector<size_t>> persons;
    for (size_t i = 0; i < truth.size(); ++i) persons[truth[i]].push_back(i);
    double same_person = 0;
    for (const auto& [p, xs] : persons) same_person += double(xs.size()) * double(xs.size() - 1) / 2;
    return std::make_pair(same_id > 0 ? same_both / same_id : 1.0, same_both / same_person);
  };
  std::vector<uint64_t> online(all.size());
  for (size_t i = 0; i < all.size(); ++i) online[i] = all[i].person_id;
  auto [p0, r0] = pair_scores(online);
  auto [p1, r1] = pair_scores(now);

  std::printf("store write of the day: %.2f s (%.1f us per tracklet)\n", write_s, write_s * 1e6 / double(all.size()));
  std::printf("%-28s %10s %12s %12s\n", "", "windows", "max/window", "day");
  std::printf("%-28s %10zu %10.3f s %10.2f s\n", "resolver alone", windows, worst_s, resolver_s);
  std::printf("%-28s %10zu %10.3f s %10.2f s\n", "with the store (read+write)", windows, worst_total_s, day_s);
  std::printf(
    "\nlargest window: %zu tracklets; people per window summed: %zu online -> %zu resolved; "
    "%zu tracklets moved, %zu people merged\n",
    most, before, after, moved, merges);
  std::printf("same-person pairs: online precision %.3f recall %.3f -> resolved precision %.3f recall %.3f\n", p0, r0,
              p1, r1);
  std::filesystem::remove(db_path);
  return 0;
}
