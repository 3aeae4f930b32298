// The tracker actor: one tracker (Deep SORT or SORT) per camera, its output
// optionally repaired (tracklet_repair: fragments of one person joined under one id,
// missed frames filled in the MOT log); forwards each frame's track events
// to re-id and acknowledges a batch once re-id has it. A fragment's `ended`
// reaches re-id at most tracklet_repair_config::max_gap_ms (2 s) after its
// last box, a new track's events at most min_boxes - 1 frames plus the
// tracker's max_age after its confirmation. Zone
// entries / exits and line crossings of cameras with zones are counted
// (weaver_zone_events_total) and logged at debug level. With a
// zone_registry (the gateway beside it edits the zones), each batch first
// takes the shapes changed since the last one: stays in zones removed by an
// edit are closed at the track's last time seen, recorded with that
// camera's next batch.
#pragma once

#include <map>
#include <optional>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/detector/detection_log.hpp"
#include "actors/live_view.hpp"
#include "actors/stream_progress.hpp"
#include "actors/tracker/camera_tracker.hpp"
#include "actors/tracker/evidence.hpp"
#include "actors/tracker/live_sampler.hpp"
#include "actors/tracker/tracklet_repair.hpp"
#include "actors/tracker/zone_events.hpp"
#include "actors/tracker/zone_registry.hpp"
#include "base/state_file.hpp"

namespace weaver {

struct tracker_state {
  static inline const char* name = "tracker";
  sort_config cfg;
  std::map<uint32_t, std::unique_ptr<camera_tracker>> trackers;
  std::map<uint32_t, tracklet_repair> repairs; // per camera, when repair is on
  std::map<uint32_t, timestamp_ms> last_time;
  reid_actor reid;
  run_stats_ptr stats;
  std::map<uint32_t, zone_monitor> zones; // cameras with zones or lines
  std::shared_ptr<zone_registry> zone_edits; // runtime edits (null: the configured shapes only)
  uint64_t zone_version = 0; // of the edits taken
  std::map<uint32_t, std::vector<zone_visit>> closed_by_edit; // per camera, for its next batch
  std::shared_ptr<detection_log> log; // optional: confirmed tracks as MOT results
  bool dnn_appearance = false;
  bool compact = false; // compact batches for re-id (mesh.compact)
  bool update_features = false; // updates keep their features through compaction (live person ids)
  int64_t update_feature_ms = 0; // ... at most this often per track (0: all)
  std::map<uint32_t, std::map<uint64_t, timestamp_ms>> features_kept; // per camera, per open track
  std::shared_ptr<live_view> live; // the console's live boxes (null: none)
  bool crops = false; // cut evidence crops (needs live for the frames)
  evidence_picker evidence;
  live_sampler live_frames; // pictures for a gateway elsewhere (needs live; off by default)
  std::string kind = "sort";
  deep_sort_config deep;
  std::optional<tracklet_repair_config> repair;
  state_file snapshots; // disabled when no path was given
  stream_progress progress; // what was processed (and is in the snapshot)
};

/// What the tracker does besides tracking.
struct tracker_extras {
  std::vector<zone_monitor> zones;
  std::shared_ptr<zone_registry> zone_edits; // zones edited at run time (null: none)
  std::shared_ptr<detection_log> log;
  bool dnn_appearance = false; // track with the detector's embedding, not the hand-crafted feature
  std::string kind = "sort"; // deepsort | sort
  deep_sort_config deep;
  // Off by default: on the demo's three crops of one video, joins made the
  // cross-camera answers worse (mean transition error 2.5 -> 3.5 people)
  // while on one full-frame camera they raised MOTA 0.790 -> 0.839 and IDF1
  // 0.684 -> 0.805 (README, "Measured").
  std::optional<tracklet_repair_config> repair;
  std::string state_file; // trackers' snapshots, restored at start ("" = none)
  bool compact = false; // compact batches for re-id (mesh.compact)
  // Re-id runs in this process and guesses live person ids from the
  // updates' features (actors/reid/live_identity): compaction keeps them.
  bool update_features = false;
  // Re-id in another process guesses them for the live frames this tracker
  // sends (mesh.live_fps): an update keeps its feature at most this often
  // per track (0: every update).
  int64_t update_feature_ms = 0;
  std::shared_ptr<live_view> live; // the console's live boxes (null: none)
  bool crops = false; // cut the tracks' evidence crops for storage (needs live)
  live_sampler_settings live_frames; // mesh.live_fps: pictures with the batches (needs live)
};

tracker_actor::behavior_type tracker_actor_impl(tracker_actor::stateful_pointer<tracker_state> self, sort_config cfg,
                                                reid_actor reid, run_stats_ptr stats, tracker_extras extras);

} // namespace weaver
