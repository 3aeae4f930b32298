// The re-id actor: a thin shell around reid_engine; forwards identities and
// closed presence intervals to storage and acknowledges once stored.
#pragma once

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/reid/reid_engine.hpp"

namespace weaver {

struct reid_state {
  static inline const char* name = "reid";
  std::unique_ptr<reid_engine> engine;
  storage_actor storage;
  run_stats_ptr stats;
  std::string state_file;          // "" = no snapshots
  int64_t last_save_ns = 0;
};

reid_actor::behavior_type reid_actor_impl(reid_actor::stateful_pointer<reid_state> self,
                                          reid_config cfg, std::vector<uint32_t> cameras,
                                          storage_actor storage, run_stats_ptr stats,
                                          std::string state_file = {});

/// Writes the engine's snapshot to `path` atomically (temp file + rename).
void save_reid_state(const reid_engine& e, const std::string& path);

} // namespace weaver
