// Where a person cut off by a view's bottom edge stands. Virtual cameras
// that are crops (or perspective warps) of one source know exactly how each
// view maps to the source image, so a box cut at its view's bottom edge can
// be extended to a whole body, its foot point carried through the source into
// the other views, and the time that foot lies in another view given to that
// camera as the person's presence (the ground truth, and a user, puts a
// person where they stand). The view below often does not detect legs alone,
// so without this the person is on no camera while they stand there.
// Pure algorithm, no CAF.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actors/reid/topology.hpp"
#include "base/types.hpp"

namespace weaver {

/// One virtual camera's view of its source.
struct view_geometry {
  uint32_t camera_id = 0;
  std::string source; // views of one source share its pixels
  int width = 0, height = 0; // the view is [0, width) x [0, height)
  // Source pixels -> view pixels, a row-major homography (a crop: a
  // translation; a warp: the quad's).
  std::array<double, 9> to_view{1, 0, 0, 0, 1, 0, 0, 0, 1};
};

/// The view of a plain crop: source rectangle (x, y, width, height).
view_geometry crop_view(uint32_t camera_id, std::string source, int x, int y, int width, int height);

struct handoff_config {
  std::vector<view_geometry> views; // only views that share their source with another
  // A box whose bottom is within this share of its view's height of the
  // bottom edge is cut: its foot is estimated, not seen.
  float cut_margin = 0.02f;
  // Width over height of a whole person's box, for a track that never showed
  // a whole body: the median of NanoDet's boxes taller than 60 px on seed
  // 1's layouts is 0.38 (the ground truth's whole bodies 0.36).
  float aspect = 0.38f;
  // Whether a whole body's foot is also given to the other views it lies
  // in (overlapping views); otherwise only cut boxes are handed on.
  bool whole_bodies = false;
  // A foot that leaves a view for at least this long (other views holding
  // it meanwhile) and comes back starts a new stay there: one presence over
  // both would overlap the stay elsewhere between them, and the question
  // "who went from X to Y" would see neither walk. The ground truth, too,
  // joins a person's frames on a camera across gaps of up to a second.
  int64_t split_ms = 1000;
};

/// At most this many stays of one track on one camera (handed_track_id
/// tells them apart in 6 bits); a foot that comes back more often extends
/// the last one.
constexpr size_t max_stays = 64;

/// A time-stamped box of a track (camera pixels).
struct timed_box {
  timestamp_ms t = 0;
  box b;
};

/// Where a track's foot was on one camera, one stay there: from its first
/// to its last sample of that stay, and those samples' foot points in that
/// camera's pixels (with the estimated whole height for scale).
struct foot_span {
  uint32_t camera_id = 0;
  timestamp_ms from = 0, to = 0;
  std::vector<foot_sample> path;
};

class view_handoff {
public:
  explicit view_handoff(handoff_config cfg = {});

  /// Whether the camera's geometry is known (a view sharing its source).
  bool knows(uint32_t camera_id) const;

  /// A track's boxes on `camera_id` (in time order) -> where its foot was,
  /// per camera (ascending id; a camera's stays in time order, see
  /// split_ms): a box cut at the bottom edge is extended to
  /// the whole height of the track's box nearest in time that was not cut
  /// at the top or bottom (else to its width over `aspect`), and its foot
  /// point mapped through the source into every view of that source; a
  /// foot that lies in no view stays on the track's own camera (an image's
  /// own edge says nothing of where the person stands). Empty for an
  /// unknown camera.
  std::vector<foot_span> feet(uint32_t camera_id, const std::vector<timed_box>& boxes) const;

  /// Whether views `a` and `b` see common source pixels (known from the
  /// geometry, so nothing needs learning: one person may be on both at once).
  bool overlap(uint32_t a, uint32_t b) const;

  /// How far apart box `a` on camera `ca` and box `b` on camera `cb` stand,
  /// in body heights: their foot points (bottom centres) carried into the
  /// source, over the taller of the two bodies there. nullopt unless both
  /// views are known and of one source. (A box cut at its view's bottom
  /// edge stands at that edge here: at most a body height off.)
  std::optional<double> apart(uint32_t ca, const box& a, uint32_t cb, const box& b) const;

  /// Whether one person seen in box `a` on camera `ca` at `ta` cannot be the
  /// one in box `b` on camera `cb` at `tb`: further apart than one body
  /// height (two when tb < ta: the sightings overlap in time) plus `speed`
  /// body heights per second between the two times. False when speed <= 0
  /// or apart() has no answer.
  bool out_of_reach(uint32_t ca, const box& a, timestamp_ms ta, uint32_t cb, const box& b, timestamp_ms tb,
                    float speed) const;

  const handoff_config& config() const { return cfg_; }

private:
  handoff_config cfg_;
  std::map<uint32_t, size_t> index_; // camera -> views index
  std::vector<std::array<double, 9>> to_source_; // per view: the inverse of its to_view (view pixels -> source)
  std::set<std::pair<uint32_t, uint32_t>> overlaps_; // (a, b), a < b
};

/// The track id of a presence handed to another camera: which camera's
/// track it came from is kept in the id, so it never collides with that
/// camera's own tracks and its origin can be found (ids with bit 62 set;
/// origin camera ids below 2^24, track ids below 2^32). One track may give
/// one camera several presences (it stood there, left, came back): `span`
/// (0 .. max_stays - 1) tells them apart.
uint64_t handed_track_id(uint32_t origin_camera, uint64_t origin_track, unsigned span = 0);
/// The origin (camera, track) of a handed track id; nullopt for a camera's own track.
std::optional<std::pair<uint32_t, uint64_t>> handed_origin(uint64_t track_id);

} // namespace weaver
