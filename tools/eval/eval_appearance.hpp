// `weaver eval appearance`: how well appearance descriptors tell people apart
// across the virtual cameras of generated layouts (crops, perspective warps,
// people cut at view edges) and within one view, from the MOT ground truth
// alone: no detector, tracker or re-id run, so a descriptor change is
// measured in seconds rather than a crosscam run's minutes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/detect/appearance.hpp"

namespace weaver {

/// One appearance sample: a person's descriptor on a camera of a layout
/// (one box, or the mean over a visit).
struct appearance_item {
  int layout = 0;
  uint32_t camera = 0;
  int person = 0;
  int frame = 0; // a box's frame, a visit's first frame
  std::vector<float> feature;
};

/// Separation of same-person from different-person similarities.
struct similarity_summary {
  size_t same = 0, different = 0; // pairs
  double auc = 0; // P(a same pair scores above a different one), ties half
  size_t queries = 0; // items with their person in the gallery
  double rank1 = 0; // share of those whose most similar gallery item is that person
  double same_mean = 0, different_mean = 0;
  std::array<double, 5> same_q{}, different_q{}; // 10, 25, 50, 75, 90th percentiles
  // At cosine 0.8, 0.85, 0.9, 0.95: share of same pairs at or above (true
  // positives) and of different pairs (false positives).
  std::array<double, 4> tpr{}, fpr{};
};

/// Thresholds of similarity_summary::tpr / fpr.
constexpr std::array<double, 4> similarity_thresholds{0.8, 0.85, 0.9, 0.95};

/// Area under the ROC curve of scores `same` (positives) against
/// `different` (negatives): the Mann-Whitney statistic, ties counted half.
/// 0.5 when either is empty.
double roc_auc(std::vector<float> same, std::vector<float> different);

/// Pairs of items of one layout on different cameras; each item queries the
/// items of its layout on the other cameras.
similarity_summary compare_across(const std::vector<appearance_item>& items);

/// A visit (a person's run on a camera) for compare_handovers: features per
/// way of summarising it, as the leaving and as the entering side.
struct handover_visit {
  int layout = 0;
  uint32_t camera = 0;
  int person = 0, first = 0, last = 0; // frames
  std::vector<std::vector<float>> features; // leaving
  std::vector<std::vector<float>> entering;
};

/// What re-id decides at a handover: each visit against the visits starting
/// on another camera of its layout from 15 frames before its last to 100
/// after (1.5 s overlap, 10 s gap at 10 fps), summary `k` of both. Pairs:
/// same person or not; rank-1: the share of visits with a true next visit
/// whose best-scoring candidate is one.
similarity_summary compare_handovers(const std::vector<handover_visit>& visits, size_t k);

/// Pairs of items of one layout and camera: same person only when at least
/// `min_gap` frames apart (nearby frames look alike whatever the
/// descriptor); each item queries the others of its camera, its own person's
/// only at that distance.
similarity_summary compare_within(const std::vector<appearance_item>& items, int min_gap);

/// A descriptor setting by name: parts joined by '+', applied in order to
/// the pipeline's options ("pipeline": those as they are): base (centre
/// weighting and surround off: the descriptor before them), c<sigma> (centre
/// weighting), s (surround foreground), p (partial bodies), t<w> (texture
/// weight), v<w> (value weight), m (a static background mask: the median of
/// 50 frames). nanodet: the detector's pooled embedding. Throws
/// std::invalid_argument on anything else.
struct appearance_variant {
  std::string name;
  appearance_options options;
  bool background_mask = false;
  bool nanodet = false;
  bool metric = false; // mapped by eval_appearance_options::metric (re-id's learnt metric)
};
appearance_variant parse_appearance_variant(const std::string& name);

struct eval_appearance_options {
  uint64_t seed = 1;
  int layouts = 6;
  std::string video = "tools/data/vtest.avi";
  std::string gt = "tests/data/PETS09-S2L1-gt.txt";
  int step = 3; // every step-th frame
  int max_frames = 0; // 0 = the whole video
  int min_gap = 20; // frames between same-person pairs within a view
  std::vector<std::string> variants; // empty = the default set
  appearance_quality_options quality;
  std::string model = "tools/data/models/nanodet.json"; // for the nanodet variant
  std::string metric; // a learnt re-id metric file, for variants with k
  std::string out; // also write the JSON here
};

/// The figures as JSON: per variant, boxes within a view and across views,
/// and visits (a person's run on a camera, joined over gaps of up to 10
/// frames, at least 5 samples) across views, their descriptors averaged
/// plainly and weighted by appearance_quality.
nlohmann::json eval_appearance(const eval_appearance_options& o);

/// The command: the JSON on stdout, a table on stderr; 0, or 2 on bad
/// options or unreadable input.
int eval_appearance_command(const eval_appearance_options& o);

} // namespace weaver
