#include "actors/reid/resolve_pass.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace weaver {

resolve_report resolve_window(store& db, timestamp_ms since_ms, timestamp_ms until_ms, const resolver_config& cfg) {
  resolve_report r;
  r.since_ms = since_ms;
  r.until_ms = until_ms;
  const auto tracklets = db.tracklet_rows(since_ms, until_ms);
  r.tracklets = tracklets.size();
  std::set<uint64_t> before;
  for (const auto& t : tracklets) before.insert(t.person_id);
  r.people_before = before.size();
  const auto t0 = std::chrono::steady_clock::now();
  const auto res = offline_resolver{cfg}.resolve(tracklets, db.next_resolved_id());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.people_after = res.people;
  r.split_out = res.split_out;
  r.links = res.links;
  r.evicted = res.evicted;
  std::vector<track_move> moves;
  for (size_t i : res.moved) moves.push_back({tracklets[i].camera_id, tracklets[i].track_id, res.person[i]});
  r.moved = moves.size();
  r.merges = res.merges.size();
  db.apply_resolution(moves, res.merges, resolved_window{since_ms, until_ms, 0, tracklets.size(), 0});
  return r;
}

std::vector<std::pair<timestamp_ms, timestamp_ms>> due_windows(const resolve_schedule& s, timestamp_ms now_ms,
                                                               std::optional<timestamp_ms> resolved_until,
                                                               std::optional<timestamp_ms> first_exit_ms) {
  std::vector<std::pair<timestamp_ms, timestamp_ms>> out;
  if (s.every_ms <= 0 || s.window_ms <= 0) return out;
  const int64_t w = s.window_ms;
  auto floor_to = [w](timestamp_ms t) { return t >= 0 ? t / w * w : -((-t + w - 1) / w) * w; };
  timestamp_ms start;
  if (resolved_until)
    start = *resolved_until;
  else if (first_exit_ms)
    start = floor_to(*first_exit_ms);
  else
    return out;
  // A bounded catch-up per run: a long outage does not stall the role.
  for (int k = 0; k < 48 && start + w <= now_ms - s.lag_ms; ++k, start += w) out.emplace_back(start, start + w);
  return out;
}

} // namespace weaver
