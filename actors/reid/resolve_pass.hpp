// The offline pass over the store: reads a closed window's tracklets,
// re-solves them (offline_resolver) and writes the corrections back as moves
// and merges, recording the window as resolved. Used by `weaver reid
// resolve` and on a schedule by the storage role.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "actors/reid/offline_resolver.hpp"
#include "actors/storage/store.hpp"

namespace weaver {

/// When the storage role resolves on its own: every `every_ms` (0 = off),
/// the windows of `window_ms` that closed `lag_ms` or more before the newest
/// stored tracklet's exit (data time: replays of old video resolve too).
struct resolve_schedule {
  int64_t every_ms = 0;
  int64_t lag_ms = 600'000;
  int64_t window_ms = 3'600'000;
};

struct resolve_report {
  timestamp_ms since_ms = 0, until_ms = 0;
  size_t tracklets = 0; // in the window
  size_t people_before = 0; // distinct online ids among them
  size_t people_after = 0;
  size_t moved = 0; // tracklets moved to another person
  size_t merges = 0; // whole online people merged into another
  size_t split_out = 0; // tracklets taken out of a person for a constraint
  size_t links = 0; // handover links that joined two groups
  size_t evicted = 0; // tracklets taken out of a group for a stronger link
  size_t rechained = 0; // links made by cutting two groups at the link
  double seconds = 0; // resolver time (not the store's)
};

/// Resolves the tracklets that exited in [since, until) and applies the
/// result to `db`. Throws std::runtime_error from the store.
resolve_report resolve_window(store& db, timestamp_ms since_ms, timestamp_ms until_ms, const resolver_config& cfg);

/// The windows a schedule resolves at data time `now_ms`: whole windows
/// (aligned to multiples of window_ms) after the latest resolved one
/// (`resolved_until`; nullopt = from the window of the first tracklet's
/// exit, `first_exit_ms`) that closed at least lag_ms before now; at most
/// 48 at once.
std::vector<std::pair<timestamp_ms, timestamp_ms>> due_windows(const resolve_schedule& s, timestamp_ms now_ms,
                                                               std::optional<timestamp_ms> resolved_until,
                                                               std::optional<timestamp_ms> first_exit_ms);

} // namespace weaver
