// Cross-camera re-identification: turns camera-local tracks into global person
// ids and presence intervals. Pure algorithm, no CAF.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "actors/types.hpp"

namespace weaver {

struct reid_config {
  float match_threshold = 0.75f; // min cosine similarity of features
  int64_t max_gap_ms = 10000;    // max time between leaving one camera and
                                 // entering another
  int64_t min_track_ms = 0;      // shorter tracks are ignored
};

/// Links ended tracks of many cameras to global person ids.
///
/// Determinism: batches of different cameras may arrive in any interleaving
/// (each camera's own batches in order). Ended tracks are buffered and
/// resolved one by one in the total order (end time, camera id, track id),
/// and only once no camera can still send a track that sorts before them, so
/// the output is the same for every interleaving. A camera's watermark is the
/// time before which it can no longer end a track: the minimum of its latest
/// batch time and the last-seen times of its open tracks (an `ended` event
/// carries the LAST matched frame's time, which lags the batch time by up to
/// the tracker's max_age). A track is resolved when its end time is strictly
/// below the minimum watermark over the registered cameras that have not ended.
/// Register every camera with add_camera() before any batch arrives: a camera
/// that has sent nothing yet holds everything back (unknown cameras are
/// registered on their first batch, too late to hold anything back).
///
/// Resolving a track compares its feature with every person whose latest
/// presence is on another camera and whose exit is at most max_gap_ms before
/// the track's enter (or after it: overlapping fields of view are allowed).
/// The most similar person at or above match_threshold wins (the lower id on
/// ties); otherwise, or without a feature, a new person id (1, 2, ...) is
/// made. The winner's prototype becomes the normalised mean of its tracks'
/// features.
class reid_engine {
public:
  explicit reid_engine(reid_config cfg = {});

  /// Registers a camera whose watermark gates resolution.
  void add_camera(uint32_t camera_id);

  /// Takes one tracker batch; returns what could be resolved.
  presence_batch on_tracks(const track_batch& b);

  /// The camera sent its last batch: it no longer holds others back.
  presence_batch on_end_of_stream(uint32_t camera_id);

  /// Resolves everything buffered, watermarks aside (all cameras ended).
  presence_batch flush();

  /// Person ids handed out so far.
  uint64_t people() const { return persons_.size(); }

  /// Ended tracks buffered, waiting for the watermark.
  size_t pending() const { return pending_.size(); }

private:
  struct open_track {
    timestamp_ms start_ms = 0;
    timestamp_ms last_ms = 0; // latest matched time seen: lower bound of the end
  };
  struct camera_state {
    timestamp_ms latest_ms; // time of the latest batch
    bool ended = false;
    std::map<uint64_t, open_track> open;
  };
  struct ended_track {
    timestamp_ms start_ms = 0;
    std::vector<float> feature;
  };
  using track_key = std::tuple<timestamp_ms, uint32_t, uint64_t>; // end, cam, track
  struct person {
    std::vector<double> feature_sum;
    std::vector<float> prototype; // normalised feature_sum
    uint32_t last_camera = 0;
    timestamp_ms last_exit_ms = 0;
  };

  camera_state& camera(uint32_t camera_id);
  timestamp_ms safe_time() const;
  presence_batch resolve_before(timestamp_ms limit);
  void resolve(const track_key& key, const ended_track& t, presence_batch& out);

  reid_config cfg_;
  std::map<uint32_t, camera_state> cameras_;
  std::map<track_key, ended_track> pending_;
  std::vector<person> persons_; // person id = index + 1
};

} // namespace weaver
