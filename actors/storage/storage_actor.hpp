// The storage actor: a thin shell around `store`. Replies to a batch once
// its transaction committed (so an acknowledged row is durable), and applies
// retention by age on a timer.
#pragma once

#include <chrono>
#include <memory>
#include <set>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/reid/resolve_pass.hpp"
#include "actors/storage/store.hpp"

namespace weaver {

struct storage_settings {
  int64_t retention_ms = 0; // 0 = keep everything
  std::chrono::milliseconds retention_every{3'600'000}; // how often to apply it
  resolve_schedule resolve; // offline re-resolution (every_ms 0 = off)
  resolver_config resolver;
  // Evidence crops and live frames go into the store beside the rows
  // (actors/storage/pictures); a live frame of a camera not configured here
  // is refused.
  std::set<uint32_t> cameras;
};

struct storage_state {
  static inline const char* name = "storage";
  std::shared_ptr<store> db;
  run_stats_ptr stats;
  storage_settings settings;
};

storage_actor::behavior_type storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                                                std::shared_ptr<store> db, run_stats_ptr stats,
                                                storage_settings settings);

} // namespace weaver
