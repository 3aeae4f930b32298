// Provisional person ids for open tracks, for the web console's live boxes.
// Re-id names a track's person only once the track ended (and its window was
// resolved); this guesses earlier: each open track's running appearance
// (the mean of its updates' features) is matched against re-id's gallery
// with the final match's rules, without changing the gallery. A track is
// matched once it has `min_updates` features, then at most every
// `period_ms` of its camera's time, so the tracker's pace costs one feature
// sum per update, not a gallery scan. Pure, no CAF.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "base/types.hpp"

namespace weaver {

struct live_identity_config {
  int min_updates = 5; // features a track needs before its first guess
  int64_t period_ms = 1000; // a track is matched again at most this often (its camera's time)
};

/// A candidate person for an open track and its match score.
struct live_candidate {
  uint64_t person_id = 0;
  double score = 0;
};

class live_identity {
public:
  /// The people an open track (camera, track) would match with appearance
  /// `feature` if it ended now, at or above the threshold, best first
  /// (reid_engine::open_match).
  using matcher =
    std::function<std::vector<live_candidate>(uint32_t camera, uint64_t track, const std::vector<float>& feature)>;

  explicit live_identity(live_identity_config cfg = {});

  /// One tracker batch, after re-id took it (so `match` knows its tracks):
  /// adds its updates' features, forgets ended tracks (keeping their last
  /// guess until the final id comes), and matches the tracks that are due.
  void on_tracks(const track_batch& b, const matcher& match, uint64_t people_now);

  /// The camera ended: its open tracks will not end any more.
  void end_camera(uint32_t camera);

  /// The final ids re-id resolved: each is compared with the track's last
  /// guess (stats()) and the guess forgotten.
  void on_final(const std::vector<identity>& ids);

  /// The provisional person of an open track, if any. No person is given to
  /// two open tracks at once (the higher score keeps them).
  std::optional<uint64_t> provisional(uint32_t camera, uint64_t track) const;

  /// A camera's open tracks that have a provisional person: track -> person.
  std::map<uint64_t, uint64_t> table(uint32_t camera) const;

  /// How guesses compared with the final ids.
  struct outcome_counts {
    uint64_t matches = 0; // gallery scans (calls of the matcher)
    uint64_t agreed = 0; // guessed the final person
    uint64_t differed = 0; // guessed another person
    uint64_t unguessed_new = 0; // no guess, and the final id was a new person
    uint64_t unguessed_known = 0; // no guess, but the final id was an earlier person
  };
  const outcome_counts& stats() const { return stats_; }

  /// Tracks being followed (open) and ended ones waiting for their final id.
  size_t open_tracks() const { return open_.size(); }
  size_t awaiting_final() const { return ended_.size(); }

private:
  using key = std::pair<uint32_t, uint64_t>; // camera, track
  struct open_track {
    std::vector<double> sum; // of the unit features seen
    int updates = 0;
    timestamp_ms matched_ms = 0; // camera time of the last match
    bool matched = false;
    std::vector<live_candidate> candidates; // of the last match
  };
  struct ended_track {
    std::optional<uint64_t> guess;
    uint64_t people = 0; // people known when it ended: a final id above is a new person
    timestamp_ms end_ms = 0;
  };
  /// One person per open track and one open track per person, greedily by score.
  void choose();
  /// Forgets ended tracks re-id never named (too short for it) once many wait.
  void prune_ended(timestamp_ms now);

  live_identity_config cfg_;
  std::map<key, open_track> open_;
  std::map<key, uint64_t> chosen_; // open track -> provisional person
  std::map<key, ended_track> ended_;
  outcome_counts stats_;
};

} // namespace weaver
