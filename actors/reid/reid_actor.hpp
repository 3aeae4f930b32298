// The re-id actor: a thin shell around reid_engine; forwards identities and
// closed presence intervals to storage and acknowledges once stored. Beside
// the cameras and trackers (a live view given), it also guesses each open
// track's person (live_identity) for the console's live boxes.
#pragma once

#include <functional>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/live_view.hpp"
#include "actors/reid/live_identity.hpp"
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
  // The cameras' live view of this process (null: the tracks come from
  // another process): each open track's provisional person goes there.
  std::shared_ptr<live_view> live;
  // Live frames from trackers in other processes (mesh.live_fps): their
  // boxes get their open tracks' provisional people on the way to storage.
  bool mesh_live = false;
  live_identity live_ids;
  live_identity::outcome_counts counted; // of live_ids' stats, already in the metric
};

reid_actor::behavior_type reid_actor_impl(reid_actor::stateful_pointer<reid_state> self, reid_config cfg,
                                          std::vector<uint32_t> cameras, storage_actor storage, run_stats_ptr stats,
                                          std::string state_file = {}, reid_tap tap = {},
                                          std::shared_ptr<live_view> live = nullptr, bool mesh_live = false);

} // namespace weaver
