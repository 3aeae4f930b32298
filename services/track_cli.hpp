// `weaver track`: runs one camera's tracker (Deep SORT or SORT) offline on
// MOT-format detections and writes MOT-format tracks, to measure the tracker
// alone (e.g. on MOTChallenge's public detections) with `weaver eval mot`.
#pragma once

#include <string>

namespace weaver {

struct track_options {
  std::string det; // MOT detections: frame,-1,x,y,w,h,score,... (frame 1-based)
  std::string out; // MOT tracks to write: frame,id,x,y,w,h,1,-1,-1,-1
  std::string video; // optional: frames for the appearance descriptor
  std::string tracker = "deepsort"; // deepsort | sort
  std::string appearance; // handcrafted | pipeline | none; empty: handcrafted with --video
  std::string boxes = "detector"; // detector | filter (Deep SORT's Kalman estimate)
  std::string repair = "fill"; // fill | join | off (actors/tracker/tracklet_repair.hpp)
  int smooth = -1; // with repair fill: smoothing window, frames either side (-1: default)
  float min_score = 0.0f; // detections below are dropped
  int n_init = -1; // confirm after N hits (-1: the tracker's default)
  int max_age = -1; // end after N missed frames (-1: the tracker's default)
  float max_cosine_distance = -1; // Deep SORT (-1: default)
  int budget = -1; // Deep SORT gallery size (-1: default)
  float lambda = -1; // Deep SORT motion weight in the cascade (-1: default)
  bool quiet = false; // no summary line
};

/// Reads `det`, computes the appearance per detection from `video` (video
/// frame n, 0-based, is MOT frame n + 1), runs the tracker on every frame
/// from 1 to the last with detections (also frames without any), and writes
/// to `out` one row per frame in which a confirmed track was matched, with
/// the detector's box (or with `boxes` = "filter", Deep SORT's Kalman
/// estimate after the update, as the reference implementations write),
/// ordered by frame and id. With `repair` join or fill, the tracker's output
/// goes through tracklet repair first (fragments of one person joined under
/// one id; with fill also interpolated boxes for the frames the tracker
/// missed), ids renumbered 1.. in order of first appearance. Prints a summary line (frames,
/// detections, tracks, tracker frames/s). Returns the exit code (2: bad input).
int track_command(const track_options& o);

} // namespace weaver
