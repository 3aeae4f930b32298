// The space-time topology of a camera network, learnt online without any
// calibration from the re-id matches it is shown. Per ordered camera pair
// (A, B): where on A people leave and where on B they then appear (foot
// points of the last and first boxes), how long the walk takes, and, for
// views that overlap (people seen on both at once), the ground-plane
// correspondence between the two images: a homography between foot points,
// fitted robustly (RANSAC) from people seen in both at the same time.
// Re-id asks it how plausible a continuation is, beside appearance.
// Pure, no CAF.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/types.hpp"

namespace weaver {

/// A point in a camera's pixels.
struct image_point {
  float x = 0, y = 0;
};

/// Bottom-centre of a box: where the person stands.
inline image_point foot_of(const box& b) { return {b.x + b.w / 2, b.y + b.h}; }

/// The part of a camera's image people were seen in: the union of the
/// boxes added (empty, zero-sized and non-finite boxes aside). Online re-id
/// and the offline pass both tell a view's edges by it.
struct image_extent {
  float x0 = 1e30f, y0 = 1e30f, x1 = -1e30f, y1 = -1e30f;
  void add(const box& b) {
    if (!(b.w > 0 && b.h > 0) || !std::isfinite(b.x + b.y + b.w + b.h)) return;
    x0 = std::min(x0, b.x);
    y0 = std::min(y0, b.y);
    x1 = std::max(x1, b.x + b.w);
    y1 = std::max(y1, b.y + b.h);
  }
  /// Whether box b reaches within `share` of the extent's size of its edges;
  /// true while nothing is known (or for an empty box).
  bool at_edge(const box& b, float share) const {
    if (x1 <= x0 || y1 <= y0 || b.w <= 0) return true;
    const float mx = share * (x1 - x0), my = share * (y1 - y0);
    return b.x <= x0 + mx || b.x + b.w >= x1 - mx || b.y <= y0 + my || b.y + b.h >= y1 - my;
  }
};

/// One time-stamped foot point of a track, with the box height for scale.
struct foot_sample {
  timestamp_ms t = 0;
  image_point p;
  float h = 0;
  float w = 0; // the box width (0: unknown)
};

struct topology_config {
  int min_handovers = 3; // a pair's regions and transit count from this many
  size_t max_handovers = 256; // kept per pair, the oldest go first
  int64_t min_transit_spread_ms = 1000; // transit spread never below this
  float region_sigma = 0.5f; // kernel width in box heights (exit, entry regions)
  int overlap_after = 3; // co-visible sightings (and a homography) before views overlap
  size_t max_correspondences = 400; // foot-point pairs kept per pair
  size_t homography_min_points = 12;
  float homography_px = 0.25f; // RANSAC reprojection threshold, in box heights
};

class topology {
public:
  explicit topology(topology_config cfg = {});

  /// A person seen leaving `from` with last box `exit` and appearing on `to`
  /// with first box `entry`, `transit_ms` later (negative: before leaving).
  void learn_handover(uint32_t from, uint32_t to, const box& exit, const box& entry, int64_t transit_ms);

  /// One person seen on `a` and `b` at the same time; `pairs` are their foot
  /// points at common times (a's, b's). Counts a sighting of overlap and adds
  /// the correspondences (both directions); the homography is refitted as
  /// they grow.
  void learn_covisible(uint32_t a, uint32_t b, const std::vector<std::pair<foot_sample, foot_sample>>& pairs);

  /// How well "left `from` at `exit`, appeared on `to` at `entry`,
  /// `transit_ms` later" fits the handovers learnt: in [0, 1], or nullopt
  /// while the pair has fewer than min_handovers.
  std::optional<double> handover_score(uint32_t from, uint32_t to, const box& exit, const box& entry,
                                       int64_t transit_ms) const;

  /// Whether the views were seen to overlap: overlap_after sightings whose
  /// foot points agree on one homography. Sightings alone do not do: the
  /// appearance of different people seen at once is often as close as one
  /// person's (on vtest.avi's layouts most co-visible "same look" pairs were
  /// two people, and no homography fitted between non-overlapping views).
  bool overlapping(uint32_t a, uint32_t b) const;

  /// How well co-visible foot points (a's, b's) map onto each other through
  /// the learnt homography a -> b: in [0, 1], nullopt without one.
  std::optional<double> covisible_score(uint32_t a, uint32_t b,
                                        const std::vector<std::pair<foot_sample, foot_sample>>& pairs) const;

  /// What is known of a pair (tests, inspection).
  struct pair_summary {
    int handovers = 0;
    double transit_median_ms = 0, transit_spread_ms = 0;
    image_point exit_mean, entry_mean; // of the regions' samples
    int covisible = 0;
    bool homography = false;
  };
  pair_summary summary(uint32_t from, uint32_t to) const;

  /// The homography a -> b applied to a point (nullopt without one).
  std::optional<image_point> map_point(uint32_t a, uint32_t b, image_point p) const;

  nlohmann::json to_json() const;
  /// Replaces the state by what to_json() gave; throws on malformed input.
  void from_json(const nlohmann::json& j);

private:
  struct handover {
    image_point exit, entry;
    float exit_h = 0, entry_h = 0;
    int64_t transit_ms = 0;
  };
  struct pair_state {
    std::vector<handover> handovers; // a ring once full
    size_t next = 0; // where the next one goes once full
    double transit_median_ms = 0, transit_spread_ms = 0; // robust, kept current
    int covisible = 0;
    std::vector<std::pair<foot_sample, foot_sample>> corr; // a ring once full
    size_t corr_next = 0;
    size_t fitted_at = 0; // correspondences at the last fit
    std::vector<double> h; // 3x3 row-major, empty = none
  };
  void update_transit(pair_state& s);
  void fit(pair_state& s);

  topology_config cfg_;
  std::map<std::pair<uint32_t, uint32_t>, pair_state> pairs_;
};

} // namespace weaver
