// Re-id without the video: a run's re-id input (every camera's track batches
// and ends of stream, as the re-id role received them) recorded to a file,
// and replayed through reid_engine into a store. Re-id is deterministic for
// any interleaving of cameras, so a replay with the run's settings gives the
// run's identities; with other settings it shows what they would have given,
// in seconds instead of a detector's minutes (`weaver eval crosscam --replay`).
#pragma once

#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "actors/types.hpp"
#include "services/config.hpp"

namespace weaver {

/// Writes a recording: a header line, then each message as a length-prefixed
/// mesh envelope (services/codec). Thread-safe; one writer per file.
class reid_recorder {
public:
  /// Creates (truncates) `path`. Throws std::runtime_error when it cannot.
  explicit reid_recorder(const std::string& path);
  void write(const track_batch& b);
  void write(const end_of_stream& e);

private:
  void put(const std::vector<uint8_t>& bytes);
  std::mutex mtx_;
  std::ofstream out_;
  std::string path_;
  uint64_t seq_ = 0;
};

/// The file `weaver run --tracks DIR` records re-id's input to.
std::string reid_recording_path(const std::string& tracks_dir);

/// What a recording holds, in recorded order. Throws std::runtime_error
/// naming the file and the record for anything that is not a recording.
using reid_input = std::variant<track_batch, end_of_stream>;
std::vector<reid_input> read_reid_recording(const std::string& path);

/// What a replay did.
struct replay_result {
  uint64_t batches = 0, people = 0, identities = 0, merges = 0;
};

/// Replays `input` through a reid_engine with `cfg.reid` (the configuration's
/// cameras registered first, as the run does) into the store at `db_path`,
/// which is emptied first and given the configuration's cameras and zones.
replay_result replay_reid(const config& cfg, const std::vector<reid_input>& input,
                          const std::string& db_path);

} // namespace weaver
