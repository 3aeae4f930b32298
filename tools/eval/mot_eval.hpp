// Multi-object tracking evaluation on MOTChallenge text files: CLEAR MOT
// (as py-motmetrics computes it), the identity metrics IDF1/IDP/IDR (Ristani
// et al. 2016) and HOTA (Luiten et al. 2020, as TrackEval computes it).
// Pure algorithm, no CAF; `weaver eval mot` is its command line.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace weaver::mot {

/// One line of a MOT file: `frame,id,left,top,width,height,conf,...`.
struct box_row {
  int64_t frame = 0;
  int64_t id = 0;
  double left = 0, top = 0, width = 0, height = 0;
  double conf = 1; // the 7th column (gt: "consider"); 1 when absent
};

/// A file that cannot be read or parsed; what() names the file and line.
struct input_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses MOT text: one box per line, fields separated by commas and/or
/// blanks, at least 6 numeric fields (frame and id integral); blank lines
/// are skipped. `name` is used in error messages. With `ground_truth`, rows
/// whose 7th column is < 1 are dropped (MOTChallenge's "consider" flag, as
/// py-motmetrics and TrackEval drop them). A frame holding the same id twice
/// is an error (TrackEval refuses it too). Throws input_error.
std::vector<box_row> parse_mot(std::istream& in, const std::string& name, bool ground_truth);

/// parse_mot on a file; a missing or unreadable file is an input_error.
std::vector<box_row> load_mot(const std::string& path, bool ground_truth);

/// Intersection over union of two boxes (left, top, width, height), no
/// +1 pixel convention; 0 when either box is empty.
double box_iou(const box_row& a, const box_row& b);

/// HOTA's localisation thresholds: 0.05, 0.10, ..., 0.95.
constexpr int hota_alphas = 19;
double hota_alpha(int k);

/// Additive counts of one sequence (or of several, combined). Every summary
/// number is derived from these, so sequences combine exactly as
/// py-motmetrics (counts summed, ratios recomputed; MOTP weighted by
/// matches) and TrackEval (HOTA: TP/FN/FP summed per alpha, AssA and LocA
/// weighted by TP per alpha) combine them.
struct mot_counts {
  int64_t frames = 0; // frames holding a gt or a result box
  int64_t num_objects = 0; // gt boxes
  int64_t num_predictions = 0; // result boxes
  int64_t num_matches = 0; // matched, same hypothesis as before (MATCH)
  int64_t num_switches = 0; // matched, other hypothesis than before (SWITCH)
  int64_t num_false_positives = 0;
  int64_t num_misses = 0;
  int64_t num_fragmentations = 0;
  int64_t num_unique_objects = 0; // gt ids
  int64_t mostly_tracked = 0, partially_tracked = 0, mostly_lost = 0;
  double distance_sum = 0; // sum of (1 - IoU) over MATCH and SWITCH
  int64_t idtp = 0, idfp = 0, idfn = 0;
  // HOTA, per alpha: TP, FN, FP; AssA, AssRe, AssPr times TP (the weights
  // TrackEval combines sequences with); the sum of IoU over TP (LocA's sum).
  std::array<double, hota_alphas> hota_tp{}, hota_fn{}, hota_fp{};
  std::array<double, hota_alphas> ass_a_tp{}, ass_re_tp{}, ass_pr_tp{}, loc_sum{};
};

/// The summary numbers. Ratios with a zero denominator are NaN (py-motmetrics
/// gives NaN or inf there), except the HOTA family, which follows TrackEval's
/// max(1, .) denominators.
struct mot_summary {
  double mota, motp, recall, precision;
  double idf1, idp, idr;
  double hota, deta, assa, loca, detre, detpr, assre, asspr;
};

struct mot_options {
  /// CLEAR MOT and identity matches need IoU >= this (distance 1 - IoU at
  /// most 1 - min_iou). HOTA does not use it (it averages over its alphas).
  double min_iou = 0.5;
};

/// Evaluates one sequence: frames are matched by number.
mot_counts evaluate_sequence(const std::vector<box_row>& gt, const std::vector<box_row>& res,
                             const mot_options& options = {});

/// Combines sequences' counts into overall counts.
mot_counts combine(const std::vector<mot_counts>& parts);

/// The summary numbers of counts (one sequence or combined).
mot_summary summarize(const mot_counts& c);

} // namespace weaver::mot
