// Replays a run's recorded re-id input (actors/reid/reid_recording.hpp)
// through reid_engine into a store: what other re-id settings would have
// given, in seconds instead of a detector's minutes.
#pragma once

#include <string>
#include <vector>

#include "actors/reid/reid_recording.hpp"
#include "services/config.hpp"

namespace weaver {

/// What a replay did.
struct replay_result {
  uint64_t batches = 0, people = 0, identities = 0, merges = 0;
};

/// Replays `input` through a reid_engine with `cfg.reid` (the configuration's
/// cameras registered first, as the run does) into the store at `db_path`,
/// which is emptied first and given the configuration's cameras and zones.
replay_result replay_reid(const config& cfg, const std::vector<reid_input>& input, const std::string& db_path);

/// What the tracker role would have passed re-id with `cfg.tracker.repair`
/// (off, join or fill), from a recording made with repair off and, for
/// appearance in repair, with `mesh.compact: false` (the compact link drops
/// the features of all but `ended` events): each camera's batches through a
/// tracklet_repair (frames of the camera's crop size, or `frame` without a
/// crop; the batch before a camera's end of stream is the tracker's flush),
/// then compacted when `cfg.mesh.compact` as the link to re-id would. The MOT
/// boxes go to `tracks_dir`/cam<id>.txt as `weaver run --tracks` writes them.
std::vector<reid_input> repair_recording(const config& cfg, const std::vector<reid_input>& input, int frame_width,
                                         int frame_height, const std::string& tracks_dir);

} // namespace weaver
