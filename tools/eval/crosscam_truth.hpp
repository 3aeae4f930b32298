// The true presence intervals of ground-truth people on virtual cameras
// (crops, possibly perspective-warped, of one video), for measuring
// cross-camera answers: a person is on a camera while the foot point (the
// bottom-centre) of their ground-truth box lies in its view. Pure algorithm,
// no CAF.
#pragma once

#include <map>
#include <vector>

#include <opencv2/core.hpp>

#include "base/types.hpp"
#include "tools/eval/detection_eval.hpp"
#include "tools/eval/mot_eval.hpp"

namespace weaver {

struct virtual_camera {
  uint32_t id = 0;
  cv::Matx33d to_view = cv::Matx33d::eye(); // source pixels -> camera pixels
  cv::Size size; // the camera image; its view is [0,w) x [0,h)
  timestamp_ms start_ms = 0; // capture time of frame 0
  double fps = 10;
};

/// A plain crop (x, y, w, h in source pixels) as a virtual camera.
virtual_camera crop_camera(uint32_t id, int x, int y, int w, int h);

/// Whether source point `p` lies in the camera's view, and where (camera pixels).
bool in_view(const virtual_camera& c, cv::Point2d p, cv::Point2d* at = nullptr);

/// Presence rows (person id = ground-truth id) per camera: runs of frames
/// with the foot point in the view, joined across gaps of at most
/// `max_gap_frames` (short occlusions, missing annotation), dropped when
/// shorter than `min_frames`. Only frames < `max_frames` count (0 = all).
/// Boxes with consider = 0 are skipped. Rows are sorted by (person, camera,
/// enter).
std::vector<presence> true_presence(const std::map<int, std::vector<gt_box>>& gt,
                                    const std::vector<virtual_camera>& cameras, int max_gap_frames = 10,
                                    int min_frames = 5, int max_frames = 0);

/// The ground truth as one camera sees it, as MOT rows (1-based frames, box
/// in camera pixels: the bounding box of the source box's corners mapped to
/// the view, clipped to the image): every box whose foot point is in the view
/// (boxes with consider = 0 left out). With `cut_too`, also every box the
/// view cuts (its foot outside, its centre or top-centre inside): what the
/// camera's detector sees of people standing in a neighbouring view.
std::vector<mot::box_row> camera_ground_truth(const std::map<int, std::vector<gt_box>>& gt,
                                              const virtual_camera& camera, int max_frames = 0, bool cut_too = false);

/// The true person of each track (MOT rows of one camera: its tracks and its
/// ground truth, same frames): per frame each track box goes to the true box
/// it overlaps most (IoU >= min_iou); a track's person is the one it went to
/// most, when that is at least `min_share` of its boxes. Tracks without one
/// are left out. With it, `weaver eval crosscam` scores perfect identities on
/// the run's own tracks: what re-id could reach at best.
std::map<int64_t, int64_t> track_truth(const std::vector<mot::box_row>& tracks, const std::vector<mot::box_row>& truth,
                                       double min_iou = 0.5, double min_share = 1.0 / 3);

/// The true person of each track of one camera (track_truth against the
/// camera's ground truth, cut boxes included): a track of a person cut by the
/// view's edge, whose foot stands in the next view, is that person's, so the
/// presence re-id hands from it to the next view is judged too.
std::map<int64_t, int64_t> camera_track_truth(const std::vector<mot::box_row>& tracks,
                                              const std::map<int, std::vector<gt_box>>& gt,
                                              const virtual_camera& camera, int max_frames = 0);

/// Pairwise identity decisions over tracks whose true person is known:
/// every pair of two tracks is a right join (same found and true person), a
/// wrong join (same found, different true) or a missed join (different found,
/// same true), counted apart for pairs on one camera and on two. Says which
/// kind of error an identity change made, where IDF1 only says that it fell.
struct link_counts {
  struct kind {
    int64_t right = 0, wrong = 0, missed = 0;
  };
  kind same_camera, cross_camera;
};
struct judged_track {
  uint32_t camera_id = 0;
  uint64_t person = 0; // found
  int64_t truth = 0; // true
};
link_counts count_links(const std::vector<judged_track>& tracks);

/// What the X -> Y answers are made of, over tracks whose presence and found
/// person are known (and true person where known): the total absolute error
/// hides that a missed transition and an invented one cancel out (every
/// layout undercounts, so a wrong join that invents one "helps"). Per ordered
/// camera pair, as the query counts (x on `from`, y on `to`, y entered no
/// earlier and left later than x, at most max_transit_ms after x left):
/// `carried` = true people with such a pair of their own tracks under one
/// found person; `invented` = found people with such a pair but none of one
/// true person (tracks without a true person count as nobody's).
struct judged_presence {
  uint32_t camera_id = 0;
  uint64_t person = 0; // found
  int64_t truth = -1; // true, < 0 = unknown
  timestamp_ms enter_ms = 0, exit_ms = 0;
};
struct transition_parts {
  int64_t carried = 0, invented = 0;
};
transition_parts transition_parts_of(const std::vector<judged_presence>& tracks, int64_t max_transit_ms);

} // namespace weaver
