// Re-id without the video: a run's re-id input (every camera's track batches
// and ends of stream, as the re-id role received them) recorded to a file.
// Re-id is deterministic for any interleaving of cameras, so replaying it
// (tools/eval/eval_replay.hpp, `weaver eval crosscam --replay`) with the
// run's settings gives the run's identities, and with other settings shows
// what they would have given, in seconds instead of a detector's minutes.
#pragma once

#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "base/types.hpp"

namespace weaver {

/// Writes a recording: a header line, then each message as a length-prefixed
/// mesh envelope (schemas/codec). Thread-safe; one writer per file.
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

} // namespace weaver
