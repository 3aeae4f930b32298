#include "actors/query/synthetic_history.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

namespace weaver {

synthetic_history::synthetic_history(const history_spec& spec) {
  if (spec.cameras.empty()) throw std::invalid_argument("synthetic history: no cameras");
  std::map<uint32_t, std::vector<uint32_t>> next;
  if (spec.edges.empty()) {
    for (auto a : spec.cameras)
      for (auto b : spec.cameras)
        if (a != b) next[a].push_back(b);
  } else {
    for (auto [a, b] : spec.edges) next[a].push_back(b);
  }
  std::mt19937_64 rng{spec.seed};
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, std::max(lo, hi))(rng);
  };
  // Visits beyond the first: geometric with the requested mean.
  const double p_more = spec.mean_visits > 1 ? 1.0 - 1.0 / spec.mean_visits : 0.0;
  const int64_t span = static_cast<int64_t>(spec.days) * 86'400'000;
  rows_.reserve(static_cast<size_t>(spec.people * std::max(1.0, spec.mean_visits)));
  for (uint64_t person = 1; person <= spec.people; ++person) {
    size_t first = rows_.size();
    uint32_t cam = spec.cameras[static_cast<size_t>(uniform(0, static_cast<int64_t>(spec.cameras.size()) - 1))];
    timestamp_ms t = spec.start_ms + uniform(0, span - 1);
    for (;;) {
      timestamp_ms exit = t + uniform(spec.dwell_min_ms, spec.dwell_max_ms);
      rows_.push_back({person, cam, t, exit});
      auto it = next.find(cam);
      if (it == next.end() || it->second.empty()) break;
      if (std::uniform_real_distribution<double>(0, 1)(rng) >= p_more) break;
      cam = it->second[static_cast<size_t>(uniform(0, static_cast<int64_t>(it->second.size()) - 1))];
      t = exit + uniform(spec.transit_min_ms, spec.transit_max_ms);
    }
    by_person_[person] = {first, rows_.size()};
  }
}

int64_t synthetic_history::transitions(uint32_t from, uint32_t to, timestamp_ms t0, timestamp_ms t1,
                                       int64_t max_transit_ms) const {
  int64_t n = 0;
  for (const auto& [person, range] : by_person_) {
    bool found = false;
    for (size_t i = range.first; i < range.second && !found; ++i) {
      const auto& x = rows_[i];
      if (x.camera_id != from || x.enter_ms < t0 || x.enter_ms >= t1) continue;
      for (size_t j = range.first; j < range.second && !found; ++j) {
        const auto& y = rows_[j];
        if (j == i || y.camera_id != to) continue;
        if (y.enter_ms < x.enter_ms || y.exit_ms <= x.exit_ms) continue;
        const int64_t gap = y.enter_ms - x.exit_ms;
        if (max_transit_ms >= 0 && gap > max_transit_ms) continue;
        found = true;
      }
    }
    n += found;
  }
  return n;
}

int64_t synthetic_history::every_camera(const std::vector<uint32_t>& cameras,
                                        timestamp_ms day_start_ms) const {
  std::set<uint32_t> want(cameras.begin(), cameras.end());
  if (want.empty()) return 0;
  int64_t n = 0;
  for (const auto& [person, range] : by_person_) {
    std::set<uint32_t> seen;
    for (size_t i = range.first; i < range.second; ++i) {
      const auto& r = rows_[i];
      if (r.enter_ms >= day_start_ms && r.enter_ms < day_start_ms + 86'400'000 && want.count(r.camera_id))
        seen.insert(r.camera_id);
    }
    n += seen.size() == want.size();
  }
  return n;
}

} // namespace weaver
