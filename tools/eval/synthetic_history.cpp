#include "tools/eval/synthetic_history.hpp"

#include <algorithm>
#include <functional>
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
  // Number people in order of first appearance, as re-id does live (ids
  // grow with time), so person-keyed indexes see realistic inserts.
  std::vector<std::pair<timestamp_ms, uint64_t>> order;
  for (const auto& [person, range] : by_person_) order.push_back({rows_[range.first].enter_ms, person});
  std::sort(order.begin(), order.end());
  std::vector<presence> renumbered;
  renumbered.reserve(rows_.size());
  std::map<uint64_t, std::pair<size_t, size_t>> ranges;
  for (size_t i = 0; i < order.size(); ++i) {
    auto [a, b] = by_person_[order[i].second];
    size_t first = renumbered.size();
    for (size_t j = a; j < b; ++j) {
      renumbered.push_back(rows_[j]);
      renumbered.back().person_id = i + 1;
    }
    ranges[i + 1] = {first, renumbered.size()};
  }
  rows_ = std::move(renumbered);
  by_person_ = std::move(ranges);
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

int64_t synthetic_history::every_camera(const std::vector<uint32_t>& cameras, timestamp_ms day_start_ms) const {
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

std::vector<int64_t> synthetic_history::occupancy(uint32_t camera, timestamp_ms t0, timestamp_ms t1,
                                                  int64_t step_ms) const {
  std::vector<int64_t> out;
  for (timestamp_ms t = t0; t < t1; t += step_ms) {
    const timestamp_ms end = std::min(t + step_ms, t1);
    int64_t n = 0;
    for (const auto& [person, range] : by_person_) {
      bool here = false;
      for (size_t i = range.first; i < range.second && !here; ++i) {
        const auto& r = rows_[i];
        here = r.camera_id == camera && r.enter_ms < end && r.exit_ms >= t;
      }
      n += here;
    }
    out.push_back(n);
  }
  return out;
}

std::vector<int64_t> synthetic_history::stays(uint32_t camera, timestamp_ms t0, timestamp_ms t1) const {
  std::vector<int64_t> out;
  for (const auto& r : rows_)
    if (r.camera_id == camera && r.enter_ms >= t0 && r.enter_ms < t1) out.push_back(r.exit_ms - r.enter_ms);
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::vector<uint32_t>, int64_t> synthetic_history::paths(timestamp_ms t0, timestamp_ms t1) const {
  std::map<std::vector<uint32_t>, int64_t> out;
  for (const auto& [person, range] : by_person_) {
    std::vector<presence> mine;
    for (size_t i = range.first; i < range.second; ++i)
      if (rows_[i].enter_ms >= t0 && rows_[i].enter_ms < t1) mine.push_back(rows_[i]);
    std::sort(mine.begin(), mine.end(), [](auto& a, auto& b) {
      return a.enter_ms != b.enter_ms ? a.enter_ms < b.enter_ms : a.camera_id < b.camera_id;
    });
    std::vector<uint32_t> seq;
    for (auto& r : mine)
      if (seq.empty() || seq.back() != r.camera_id) seq.push_back(r.camera_id);
    if (!seq.empty()) ++out[seq];
  }
  return out;
}

std::vector<int64_t> synthetic_history::funnel(const std::vector<uint32_t>& steps, timestamp_ms t0, timestamp_ms t1,
                                               int64_t max_step_ms) const {
  std::vector<int64_t> out(steps.size(), 0);
  // Depth-first over chains of this person's presences.
  std::function<size_t(const std::vector<presence>&, size_t, size_t)> deepest = [&](const std::vector<presence>& v,
                                                                                    size_t at, size_t k) -> size_t {
    if (k + 1 == steps.size()) return k + 1;
    size_t best = k + 1;
    for (size_t j = 0; j < v.size(); ++j)
      if (j != at && v[j].camera_id == steps[k + 1] && v[j].enter_ms >= v[at].enter_ms
          && (max_step_ms < 0 || v[j].enter_ms - v[at].exit_ms <= max_step_ms))
        best = std::max(best, deepest(v, j, k + 1));
    return best;
  };
  for (const auto& [person, range] : by_person_) {
    std::vector<presence> v(rows_.begin() + static_cast<std::ptrdiff_t>(range.first),
                            rows_.begin() + static_cast<std::ptrdiff_t>(range.second));
    size_t best = 0;
    for (size_t i = 0; i < v.size(); ++i)
      if (!steps.empty() && v[i].camera_id == steps[0] && v[i].enter_ms >= t0 && v[i].enter_ms < t1)
        best = std::max(best, deepest(v, i, 0));
    for (size_t k = 0; k < best; ++k) ++out[k];
  }
  return out;
}

std::vector<int64_t> synthetic_history::visitors(timestamp_ms start, timestamp_ms t1, int64_t width_ms,
                                                 uint32_t camera) const {
  std::vector<std::set<uint64_t>> seen(static_cast<size_t>((t1 - start + width_ms - 1) / width_ms));
  for (const auto& r : rows_)
    if (r.enter_ms >= start && r.enter_ms < t1 && (camera == 0 || r.camera_id == camera))
      seen[static_cast<size_t>((r.enter_ms - start) / width_ms)].insert(r.person_id);
  std::vector<int64_t> out;
  for (auto& s : seen) out.push_back(static_cast<int64_t>(s.size()));
  return out;
}

std::vector<presence> synthetic_history::person_rows(uint64_t person) const {
  auto it = by_person_.find(person);
  if (it == by_person_.end()) return {};
  std::vector<presence> v(rows_.begin() + static_cast<std::ptrdiff_t>(it->second.first),
                          rows_.begin() + static_cast<std::ptrdiff_t>(it->second.second));
  return v;
}

} // namespace weaver
