// A learnt appearance metric for re-id: a linear map of the detectors'
// descriptors under which cosine similarity tells people apart better than
// on the raw descriptors. Learnt without labels from a run's own tracks
// (KISS metric learning, Koestinger et al., CVPR 2012): two descriptors of
// one track seconds apart are one person (pose, size and cut change), two
// tracks on one camera at the same moment are two people. Directions in
// which one person varies weigh less, directions in which people differ
// more. Pure algorithm, no CAF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/types.hpp"

namespace weaver {

/// One detection's descriptor on a track (the tracker's updated events).
struct metric_sample {
  uint32_t run = 0; // which recorded run: camera and track ids repeat across runs
  uint32_t camera_id = 0;
  uint64_t track_id = 0;
  timestamp_ms time_ms = 0;
  std::vector<float> feature;
};

struct metric_fit_options {
  size_t dims = 45; // principal components kept (and the metric's output length)
  int64_t min_apart_ms = 4000; // same-track pairs at least this far apart in time
  size_t max_pairs_per_track = 40; // same-track pairs per track, spread over it
  size_t max_negatives = 200000; // different-people pairs, spread over the run
  double ridge = 1e-4; // added to the covariances' diagonals (scaled by their trace / dims)
};

/// What a fit learnt from (counts).
struct metric_fit_report {
  size_t samples = 0, tracks = 0, positives = 0, negatives = 0;
};

class appearance_metric {
public:
  /// No metric: apply() returns its input.
  appearance_metric() = default;

  /// Learns the metric from `samples` (any order). Throws
  /// std::invalid_argument when they do not hold enough pairs of either kind
  /// (2 x dims) or their descriptors differ in length.
  static appearance_metric fit(const std::vector<metric_sample>& samples, const metric_fit_options& o = {},
                               metric_fit_report* report = nullptr);

  bool empty() const { return transform_.empty(); }
  size_t input_dims() const { return mean_.size(); }
  size_t output_dims() const { return empty() ? 0 : transform_.size() / mean_.size(); }

  /// The descriptor in the metric's space, unit length. Unchanged when there
  /// is no metric, or when `f` is empty or not input_dims() long (cosine
  /// similarity is 0 between vectors of different lengths, so such a track
  /// matches no one rather than someone at random).
  std::vector<float> apply(const std::vector<float>& f) const;

  nlohmann::json to_json() const;
  /// Throws std::invalid_argument on anything to_json() did not write.
  static appearance_metric from_json(const nlohmann::json& j);
  /// Reads a file to_json() wrote. Throws std::runtime_error naming the file.
  static appearance_metric load(const std::string& path);

private:
  std::vector<float> mean_; // input_dims
  std::vector<float> transform_; // output_dims x input_dims, row-major
};

} // namespace weaver
