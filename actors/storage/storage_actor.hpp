// The storage actor: a thin shell around sqlite_store. Replies to a batch
// once its transaction committed (so an acknowledged row is durable).
#pragma once

#include <memory>
#include <set>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/storage/sqlite_store.hpp"

namespace weaver {

struct storage_state {
  static inline const char* name = "storage";
  std::shared_ptr<sqlite_store> store;
  run_stats_ptr stats;
};

storage_actor::behavior_type
storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                   std::shared_ptr<sqlite_store> store, run_stats_ptr stats);

} // namespace weaver
