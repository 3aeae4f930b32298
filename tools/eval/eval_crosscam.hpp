// The figures of `weaver eval crosscam` for one layout's run, and the run
// configurations of generated layouts (see tools/eval/eval_cli.hpp).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/config.hpp"
#include "tools/eval/crosscam_layouts.hpp"
#include "tools/eval/mot_eval.hpp"

namespace weaver {

/// The truth's virtual cameras for a configuration's cameras (crop, warp;
/// a camera without crop sees everything).
std::vector<virtual_camera> truth_cameras(const config& cfg);

/// A generated layout as a run configuration (YAML): the base file's
/// settings (relative model paths made absolute), the layout's cameras on
/// `video`, the store at `store_path`, every ordered camera pair asked, no
/// alerts, no metrics port; `detector` (when not empty) as detector.kind.
std::string layout_config_yaml(const crosscam_layout& layout, const std::string& base, const std::string& video,
                               const std::string& store_path, const std::string& detector);

/// One layout's figures: every ordered pair's X -> Y count (truth, weaver),
/// their total absolute error over the true total, people on every camera,
/// people found vs true and, when `tracks_dir` is not empty, the
/// multi-camera IDF1 over (camera, frame, box, global id) whose counts go to
/// `idf1_counts`.
nlohmann::json crosscam_metrics(const config& cfg, const std::string& db_path, const std::string& tracks_dir,
                                const std::string& gt_path, uint64_t max_frames, mot::mot_counts* idf1_counts);

/// A copy of the SQLite store `db_path` at `copy_path`, resolved offline as
/// one window (every tracklet) with the configuration's reid.resolve and
/// reid.links; the pass's report as JSON.
nlohmann::json resolve_copy(const config& cfg, const std::string& db_path, const std::string& copy_path);

/// IDF1, IDP, IDR and their counts as JSON (NaN as null).
nlohmann::json crosscam_identity_json(const mot::mot_counts& counts);

} // namespace weaver
