#include "actors/reid/resolve_pass.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "actors/reid/view_handoff.hpp"

namespace weaver {

resolve_report resolve_window(store& db, timestamp_ms since_ms, timestamp_ms until_ms, const resolver_config& cfg) {
  resolve_report r;
  r.since_ms = since_ms;
  r.until_ms = until_ms;
  // Presences handed to another view (reid_config::handoff) are where their
  // own track's person stood: they follow that track, and the resolver
  // never sees them (beside the same person's own track there, they would
  // look like one person twice on one camera at once).
  std::vector<tracklet> tracklets, handed;
  for (auto& t : db.tracklet_rows(since_ms, until_ms))
    (handed_origin(t.track_id) ? handed : tracklets).push_back(std::move(t));
  r.tracklets = tracklets.size() + handed.size();
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
  r.rechained = res.rechained;
  std::vector<track_move> moves;
  for (size_t i : res.moved) moves.push_back({tracklets[i].camera_id, tracklets[i].track_id, res.person[i]});
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> now; // (camera, track) -> person after the pass
  for (size_t i = 0; i < tracklets.size(); ++i) now[{tracklets[i].camera_id, tracklets[i].track_id}] = res.person[i];
  for (const auto& h : handed) {
    auto it = now.find(*handed_origin(h.track_id));
    // An origin outside the window (or never a presence of its own) keeps
    // the online person; merges still rename it.
    if (it != now.end() && it->second != h.person_id) moves.push_back({h.camera_id, h.track_id, it->second});
  }
  r.moved = moves.size();
  r.merges = res.merges.size();
  db.apply_resolution(moves, res.merges, resolved_window{since_ms, until_ms, 0, r.tracklets, 0});
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
