// The re-id actor: a thin shell around reid_engine; forwards identities and
// closed presence intervals to storage and acknowledges once stored.
#pragma once

#include <functional>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/reid/reid_engine.hpp"
#include "actors/stream_progress.hpp"
#include "base/state_file.hpp"

namespace weaver {

/// Sees every input of the re-id role as it arrives (recording for replays:
/// tools/eval/eval_replay); either may be empty.
struct reid_tap {
  std::function<void(const track_batch&)> batch;
  std::function<void(const end_of_stream&)> end;
};

struct reid_state {
  static inline const char* name = "reid";
  std::unique_ptr<reid_engine> engine;
  storage_actor storage;
  run_stats_ptr stats;
  state_file snapshots; // disabled when no path was given
  stream_progress progress; // what was processed (and is in the snapshot)
  reid_tap tap;
};

reid_actor::behavior_type reid_actor_impl(reid_actor::stateful_pointer<reid_state> self, reid_config cfg,
                                          std::vector<uint32_t> cameras, storage_actor storage, run_stats_ptr stats,
                                          std::string state_file = {}, reid_tap tap = {});

} // namespace weaver
