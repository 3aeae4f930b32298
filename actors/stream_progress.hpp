// How far a stage has taken each camera's stream: the position of the last
// message it processed, per camera, so that a message seen again (an
// upstream re-sends what its restarted peer never acknowledged, or a
// restarted file camera regenerates its frames from the start) is recognised
// and acknowledged without being processed twice. It goes into the stage's
// snapshot, so what is "covered" is exactly what the durable state holds.
//
// A position is (capture time, frame seq): a file camera's replay repeats
// both, so it is covered; a restarted live camera starts its seq at 0 again
// but at a later wall-clock time, so it is new. An end of stream closes the
// camera at its last time; a later message (a live camera back) reopens it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "base/types.hpp"

namespace weaver {

class stream_progress {
public:
  /// Whether a message of `camera` at (time, seq) was processed already.
  bool covered(uint32_t camera, timestamp_ms time, uint64_t seq) const;
  /// Records that the message at (time, seq) was processed.
  void advance(uint32_t camera, timestamp_ms time, uint64_t seq);
  /// Whether the camera's end of stream was processed (and nothing since).
  bool ended(uint32_t camera) const;
  void end(uint32_t camera);
  /// The cameras whose end of stream was processed (and nothing since).
  std::set<uint32_t> ended_cameras() const;

  std::string snapshot() const;
  /// Takes what snapshot() gave; throws std::exception on malformed text.
  void restore(const std::string& text);

private:
  struct position {
    timestamp_ms time = 0;
    uint64_t seq = 0;
    bool ended = false;
  };
  std::map<uint32_t, position> last_;
};

/// The cameras ended in a stage's snapshot (a JSON object whose "progress"
/// member is stream_progress::snapshot()'s text, as the tracker and re-id
/// save it); empty when the text has none or is malformed, as the stage
/// itself then starts empty.
std::set<uint32_t> ended_in_snapshot(const std::string& snapshot_json);

} // namespace weaver
