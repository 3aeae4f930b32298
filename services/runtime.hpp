// Process wiring: spawns the roles a process hosts, local links as CAF
// handles and remote links as bridge pairs, runs until the cameras' streams
// are processed (or a stop is requested) and produces the run summary.
#pragma once

#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/config.hpp"

namespace weaver {

struct run_options {
  std::vector<std::string> roles; // empty = every role in this process (`weaver run`)
  uint64_t max_frames = 0; // per source; 0 = to the end
  bool reset = false; // start from an empty database
  bool quiet = false; // no progress lines
  std::string detections_dir; // write each camera's detections (MOT text) here
  std::string tracks_dir; // and its confirmed tracks (MOT results) here
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
};

struct run_result {
  int exit_code = 0;
  std::string error;
  nlohmann::json summary;
};

/// Runs the mesh (or this node's part of it). Never throws: errors come back
/// with a non-zero exit code and a message naming what failed.
run_result run_mesh(const config& cfg, const run_options& opts);

/// `weaver check`: opens every file camera source (once per shared source)
/// and reads a frame, and compiles the DNN detector's model, printing one
/// line each ("camera 1,2,3: ok: file ... (768x576 @ 10 fps)"); with
/// `network` (`--probe`) also the live sources, with their transport and
/// timeouts ("camera 4: cannot open rtsp://admin:***@...: timeout ..."; no
/// password is printed). Returns 0 when all opened, else 1.
int probe_config(const config& cfg, std::ostream& out, bool network);

/// Answers the configured seed queries from an open store.
nlohmann::json seed_answers(const config& cfg, sql::database& db);

} // namespace weaver
