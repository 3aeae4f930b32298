// A synthetic history with known answers: people walking a camera graph,
// one presence per camera visit. It tests the queries exactly (the truth is
// computed from the walks, not with SQL) and loads stores with millions of
// rows for benchmarks (tools/gen_history). Pure, no CAF.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "base/types.hpp"

namespace weaver {

struct history_spec {
  std::vector<uint32_t> cameras{1, 2, 3, 4};
  /// Walkable directed edges; empty = every camera to every other.
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  uint64_t people = 1000;
  timestamp_ms start_ms = 0; // first day, UTC midnight
  int days = 1;
  double mean_visits = 4; // cameras per person (at least 1)
  int64_t dwell_min_ms = 30'000, dwell_max_ms = 600'000;
  int64_t transit_min_ms = 5'000, transit_max_ms = 120'000;
  uint64_t seed = 1;
};

class synthetic_history {
public:
  explicit synthetic_history(const history_spec& spec);

  /// Every presence, by person then time; person ids 1..people in order of
  /// each person's first entry.
  const std::vector<presence>& rows() const { return rows_; }

  /// The truth for count_transitions (same rules, see seed_queries.hpp):
  /// people with an X presence entering in [t0, t1) and a later Y presence
  /// (y.enter >= x.enter, y.exit > x.exit, y.enter - x.exit <= max_transit;
  /// every generated presence is a visit: dwell_min_ms > 0).
  int64_t transitions(uint32_t from, uint32_t to, timestamp_ms t0, timestamp_ms t1, int64_t max_transit_ms) const;
  /// The truth for people_on_every_camera: a presence entering on each.
  int64_t every_camera(const std::vector<uint32_t>& cameras, timestamp_ms day_start_ms) const;
  /// People on `camera` at some time in [t, t + step) for each step of [t0, t1).
  std::vector<int64_t> occupancy(uint32_t camera, timestamp_ms t0, timestamp_ms t1, int64_t step_ms) const;
  /// Stay lengths (ms) of presences on `camera` entering in [t0, t1), sorted.
  std::vector<int64_t> stays(uint32_t camera, timestamp_ms t0, timestamp_ms t1) const;
  /// Every person's camera sequence (entries in [t0, t1), repeats collapsed)
  /// with how many people walked it.
  std::map<std::vector<uint32_t>, int64_t> paths(timestamp_ms t0, timestamp_ms t1) const;
  /// People reaching each step of the funnel (see analytics.hpp).
  std::vector<int64_t> funnel(const std::vector<uint32_t>& steps, timestamp_ms t0, timestamp_ms t1,
                              int64_t max_step_ms) const;
  /// Distinct people entering any camera (or `camera` when > 0) in each
  /// `width_ms` bucket from `start`, up to t1.
  std::vector<int64_t> visitors(timestamp_ms start, timestamp_ms t1, int64_t width_ms, uint32_t camera) const;
  /// One person's rows by enter.
  std::vector<presence> person_rows(uint64_t person) const;

private:
  std::vector<presence> rows_;
  std::map<uint64_t, std::pair<size_t, size_t>> by_person_; // [first, last) in rows_
};

} // namespace weaver
