// `weaver eval mot`: CLEAR MOT, identity (IDF1) and HOTA metrics of tracker
// output against ground truth, both MOTChallenge text files, as JSON.
// `weaver eval crosscam`: the cross-camera answers of runs over virtual-camera
// layouts of one video with MOT ground truth, against the truth's.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/eval/mot_eval.hpp"

namespace weaver {

struct eval_mot_options {
  std::vector<std::string> gt; // ground-truth files, one per sequence ...
  std::vector<std::string> res; // ... and the tracker's file for each, in the same order
  std::vector<std::string> name; // optional sequence names (default: from the gt path)
  double iou = 0.5; // CLEAR MOT and IDF1 match at IoU >= this
  std::string out; // also write the JSON here
};

/// The sequence name for a ground-truth path: the folder holding it
/// (`TUD-Campus/gt.txt` -> TUD-Campus; MOTChallenge's `SEQ/gt/gt.txt` -> SEQ),
/// else the file name without extension.
std::string mot_sequence_name(const std::string& gt_path);

/// One sequence's (or the overall) metrics as a JSON object; py-motmetrics'
/// metric names, ratios as fractions, NaN (a zero denominator) as null.
nlohmann::json mot_json(const mot::mot_counts& counts);

/// Evaluates every (gt, res) pair and returns
/// {"iou", "sequences": [{"name", "gt", "res", "metrics"}], "overall"}.
/// Throws mot::input_error (bad files) or std::invalid_argument (options).
nlohmann::json eval_mot(const eval_mot_options& o);

/// The command: prints eval_mot's JSON (and writes it to `out`); returns 0,
/// or 2 with a message on stderr for a missing or malformed file or bad
/// options.
int eval_mot_command(const eval_mot_options& o);

struct eval_crosscam_options {
  std::string config; // evaluate this one layout's run (its store, --tracks) ...
  int layouts = 0; // ... or generate, run and evaluate this many layouts
  uint64_t seed = 1; // of the generator
  std::string out; // generated configs, stores and tracks go here
  std::string base = "deploy/demo.yaml"; // detector, tracker, re-id settings of generated layouts
  std::string video = "tools/data/vtest.avi";
  std::string gt = "tests/data/PETS09-S2L1-gt.txt";
  std::string detector; // overrides the base's detector.kind (motion: ~10x faster)
  uint64_t max_frames = 0; // per run, and the truth is cut there too (0 = whole video)
  std::string db; // --config: the store (default: the config's storage.path)
  std::string tracks; // --config: the run's --tracks DIR (IDF1 only when given)
  std::string weaver; // binary to run layouts with (default: this one)
  bool replay = false; // re-id only: replay each run's recorded re-id input
    // (TRACKS/reid-input.rec) with the settings given now
  bool replay_repair = false; // with replay: a recording made with tracker.repair off goes through
    // the given tracker.repair first; its boxes go to TRACKS/repaired/ and are scored from there
  bool resolve = true; // also score a copy of each store after the offline pass ("resolved")
};

/// The command: {"layouts": [...], "overall": {...}} on stdout (and to
/// out/report.json with --layouts); 0, 1 when a run failed, 2 on bad options.
int eval_crosscam_command(const eval_crosscam_options& o);

} // namespace weaver
