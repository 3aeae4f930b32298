// weaver: the command line. `run` hosts every role in one process (the
// embedded default); `node` hosts one or more roles and reaches the others
// over ZeroMQ; `check` validates a configuration.
#include <malloc.h>
#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include "base/log.hpp"
#include "services/cards.hpp"
#include "services/config.hpp"
#include "services/mesh_security.hpp"
#include "services/model_cli.hpp"
#include "services/query_cli.hpp"
#include "services/reid_cli.hpp"
#include "services/runtime.hpp"
#include "services/track_cli.hpp"
#include "tools/eval/eval_appearance.hpp"
#include "tools/eval/eval_cli.hpp"

namespace {

std::shared_ptr<std::atomic<bool>> stop_flag = std::make_shared<std::atomic<bool>>(false);

void on_signal(int) { stop_flag->store(true); }

int write_summary(const weaver::run_result& r, const std::string& path, bool print) {
  if (print) {
    std::cout << "summary:\n";
    const auto& s = r.summary;
    for (auto key :
         {"frames", "frames_dropped", "fps", "detections", "tracks", "people", "presence_rows", "zone_visits",
          "bytes_raw", "bytes_source", "bytes_sent", "compression_ratio", "compression_ratio_source"})
      if (s.contains(key)) std::cout << "  " << key << ": " << s[key] << "\n";
    if (s.contains("queries")) {
      for (auto& t : s["queries"]["transitions"])
        std::cout << "  people from camera " << t["from"] << " to camera " << t["to"] << " (max transit "
                  << t["max_transit_s"] << " s): " << t["people"] << "\n";
      auto& e = s["queries"]["every_camera"];
      std::cout << "  people seen on every camera " << e["cameras"].dump() << " on " << e["day"] << ": " << e["people"]
                << "\n";
    }
    if (s.contains("alerts"))
      for (auto& [kind, n] : s["alerts"].items()) std::cout << "  alerts " << kind << ": " << n << "\n";
  }
  if (!path.empty()) {
    std::ofstream out{path};
    if (!out) {
      std::cerr << "error: --summary: cannot write " << path << "\n";
      return 1;
    }
    out << r.summary.dump(2) << "\n";
  }
  return 0;
}

} // namespace

namespace weaver {
int cards_command(const std::string& cfg_path, bool json) {
  try {
    std::optional<config> cfg;
    if (!cfg_path.empty()) cfg = load_config(cfg_path);
    auto r = list_cards(cfg ? &*cfg : nullptr);
    if (json)
      std::cout << nlohmann::json{{"cards", r.cards}, {"notes", r.notes}}.dump(2) << "\n";
    else
      std::cout << format_cards(r);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
} // namespace weaver

namespace {

// weaver keys: a CURVE keypair for a mesh node.
void add_keys_command(CLI::App& app) {
  auto keys_cmd = app.add_subcommand("keys",
                                     "Make a CURVE keypair for a mesh node: DIR/NAME.key (secret, "
                                     "mode 0600) and DIR/NAME.pub (see mesh.keys).");
  auto out = std::make_shared<std::pair<std::string, std::string>>("", "weaver"); // dir, name
  keys_cmd->add_option("--out", out->first, "Directory to write to (created)")->required();
  keys_cmd->add_option("--name", out->second, "File name without extension, e.g. the role (default weaver)");

  keys_cmd->callback([out] {
    try {
      auto kp = weaver::write_curve_keypair(out->first, out->second);
      std::cout << out->first << "/" << out->second << ".pub: " << kp.public_key << "\n";
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      throw CLI::RuntimeError(1);
    }
    throw CLI::RuntimeError(0);
  });
}

// weaver cards: the accelerator cards found and configured.
void add_cards_command(CLI::App& app) {
  auto cards_cmd = app.add_subcommand("cards",
                                      "List the accelerator cards found (CPU groups, XRT devices) "
                                      "and, with -c, the configured pool, with status.");
  auto cards = std::make_shared<std::pair<std::string, bool>>("", false); // config, json
  cards_cmd->add_option("-c,--config", cards->first, "Configuration file: also list its cards");
  cards_cmd->add_flag("--json", cards->second, "Print JSON instead of a table");

  cards_cmd->callback([cards] { throw CLI::RuntimeError(weaver::cards_command(cards->first, cards->second)); });
}

// weaver model inspect, weaver detect: the DNN models and detectors.
void add_model_commands(CLI::App& app) {
  auto model_cmd = app.add_subcommand("model", "Work with DNN models (TF.js graph models, Darknet, ONNX).");
  model_cmd->require_subcommand(1);
  auto inspect = std::make_shared<weaver::inspect_options>();
  auto inspect_cmd = model_cmd->add_subcommand("inspect", "Import a model, run the passes and print the graph.");
  inspect_cmd->add_option("file", inspect->model, "TF.js model.json, Darknet .cfg or .onnx")->required();
  inspect_cmd->add_option("--weights", inspect->weights, "Darknet .weights file");
  inspect_cmd->add_flag("--raw", inspect->raw, "Print the graph as imported, before the passes");
  inspect_cmd->add_option("--batch", inspect->batch, "Batch size to compile for")->check(CLI::PositiveNumber);
  inspect_cmd->add_option("--bench", inspect->bench, "Time N runs on a random input");
  inspect_cmd->add_option("--threads", inspect->threads, "Threads per convolution for --bench")
    ->check(CLI::PositiveNumber);
  inspect_cmd->add_flag("--profile", inspect->profile, "With --bench: the mean time of each node, then the sum by op");

  auto exp = std::make_shared<weaver::export_options>();
  auto export_cmd = model_cmd->add_subcommand("export",
                                              "Import and compile a model, then write it as ONNX "
                                              "(input and outputs in the engine's order: NHWC images).");
  export_cmd->add_option("file", exp->model, "TF.js model.json, Darknet .cfg or .onnx")->required();
  export_cmd->add_option("--weights", exp->weights, "Darknet .weights file");
  export_cmd->add_option("--onnx", exp->onnx, "ONNX file to write")->required();
  export_cmd->add_option("--batch", exp->batch, "Batch size to compile for")->check(CLI::PositiveNumber);
  export_cmd->callback([exp] { throw CLI::RuntimeError(weaver::model_export(*exp)); });

  auto quant = std::make_shared<weaver::quantize_options>();
  auto quant_cmd = model_cmd->add_subcommand(
    "quantize", "Calibrate int8 activation scales on video frames, quantize the weights, write the int8 file.");
  quant_cmd->add_option("file", quant->model, "TF.js model.json or Darknet .cfg")->required();
  quant_cmd->add_option("--weights", quant->weights, "Darknet .weights file");
  quant_cmd->add_option("--calib", quant->calib, "Video for calibration")->required();
  quant_cmd->add_option("--out", quant->out, "int8 file to write (JSON)")->required();
  quant_cmd->add_option("--first", quant->first, "First calibration frame (0-based)")->check(CLI::NonNegativeNumber);
  quant_cmd->add_option("--end", quant->end, "Calibration frames end before this one (default 200)")
    ->check(CLI::PositiveNumber);
  quant_cmd->add_option("--every", quant->every, "Every Nth frame (default 4)")->check(CLI::PositiveNumber);
  quant_cmd->add_option("--scale", quant->input_scale, "Network input = frame size x scale (default 0.75)");
  quant_cmd->callback([quant] { throw CLI::RuntimeError(weaver::model_quantize(*quant)); });

  auto detect = std::make_shared<weaver::detect_options>();
  auto detect_cmd = app.add_subcommand("detect",
                                       "Run the configured detector on one image and draw "
                                       "its boxes into a PNG.");
  detect_cmd->add_option("-c,--config", detect->config, "Configuration file (YAML): detector settings")->required();
  auto img_opt = detect_cmd->add_option("--image", detect->image, "Image file");
  auto vid_opt = detect_cmd->add_option("--video", detect->video, "Video file; see --frame");
  img_opt->excludes(vid_opt);
  detect_cmd->add_option("--frame", detect->frame, "Frame of --video to use (0-based)");
  detect_cmd->add_option("-o,--out", detect->out, "PNG to write (default detections.png)");

  inspect_cmd->callback([inspect] { throw CLI::RuntimeError(weaver::model_inspect(*inspect)); });
  detect_cmd->callback([detect] {
    if (detect->image.empty() == detect->video.empty()) {
      std::cerr << "error: detect: give --image or --video\n";
      throw CLI::RuntimeError(2);
    }
    throw CLI::RuntimeError(weaver::detect_command(*detect));
  });
}

// weaver eval mot | crosscam | appearance: measurements against ground truth.
void add_eval_commands(CLI::App& app) {
  auto eval_mot = std::make_shared<weaver::eval_mot_options>();
  auto eval_cmd = app.add_subcommand("eval", "Evaluate results against ground truth.");
  eval_cmd->require_subcommand(1);
  auto eval_mot_cmd = eval_cmd->add_subcommand(
    "mot",
    "Tracking metrics of MOTChallenge text files (frame,id,left,top,width,height,conf,...) as "
    "JSON: CLEAR MOT and IDF1 as py-motmetrics computes them, HOTA as TrackEval does. Several "
    "sequences: repeat --gt A --res A2 --gt B --res B2 (paired in order); 'overall' combines them. "
    "Exit code 2 on a missing or malformed file.");
  eval_mot_cmd->add_option("--gt", eval_mot->gt, "Ground truth (MOT format; rows with 7th column < 1 ignored)")
    ->required();
  eval_mot_cmd->add_option("--res", eval_mot->res, "Tracker output (MOT format) for the --gt at the same position")
    ->required();
  eval_mot_cmd->add_option("--name", eval_mot->name, "Sequence names, one per --gt (default: the gt file's folder)");
  eval_mot_cmd->add_option("--iou", eval_mot->iou, "CLEAR MOT and IDF1 match at IoU >= this (default 0.5)");
  eval_mot_cmd->add_option("--out", eval_mot->out, "Also write the JSON to this file");
  eval_mot_cmd->callback([eval_mot] { throw CLI::RuntimeError(weaver::eval_mot_command(*eval_mot)); });

  auto xcam = std::make_shared<weaver::eval_crosscam_options>();
  auto eval_xcam_cmd = eval_cmd->add_subcommand(
    "crosscam",
    "Cross-camera answers against the truth of a video with MOT ground truth (vtest.avi = "
    "PETS09-S2L1): every ordered pair's X -> Y count, people on every camera, people found and "
    "a multi-camera IDF1, as JSON per layout and overall. --layouts N --out DIR generates N "
    "virtual-camera layouts (strips, grids, blind gaps, overlaps, perspective-warped views) from "
    "--seed, runs each and evaluates it; --config FILE evaluates the store (and --tracks) a run "
    "of FILE left.");
  auto xl = eval_xcam_cmd->add_option("--layouts", xcam->layouts, "Generate, run and evaluate N layouts")
              ->check(CLI::Range(1, 1000));
  auto xc = eval_xcam_cmd->add_option("--config", xcam->config, "Evaluate one layout: a run of this configuration");
  xl->excludes(xc);
  eval_xcam_cmd->add_option("--seed", xcam->seed, "Layout generator seed (default 1)");
  eval_xcam_cmd->add_option("--out", xcam->out, "With --layouts: write configs, stores, tracks and report.json here");
  eval_xcam_cmd->add_option("--base", xcam->base, "Settings of generated layouts (default deploy/demo.yaml)");
  eval_xcam_cmd->add_option("--video", xcam->video, "Source of generated layouts (default tools/data/vtest.avi)");
  eval_xcam_cmd->add_option("--gt", xcam->gt, "MOT ground truth of the video (default tests/data/PETS09-S2L1-gt.txt)");
  eval_xcam_cmd
    ->add_option("--detector", xcam->detector,
                 "detector.kind for generated layouts (motion is ~10x "
                 "faster than nanodet; default: the base's)")
    ->check(CLI::IsMember(weaver::config_detector_kinds()));
  eval_xcam_cmd->add_option("--max-frames", xcam->max_frames, "Frames per run; the truth is cut there too (0 = all)");
  eval_xcam_cmd->add_option("--db", xcam->db, "With --config: the run's store (default: the configuration's)");
  eval_xcam_cmd->add_option("--tracks", xcam->tracks, "With --config: the run's --tracks DIR (for IDF1)");
  eval_xcam_cmd->add_flag("--replay", xcam->replay,
                          "Re-id only: replay each run's recorded re-id input "
                          "(TRACKS/reid-input.rec, written by weaver run --tracks) with the settings of --base "
                          "(or --config) into the store, instead of running the video again");
  eval_xcam_cmd->add_flag("--replay-repair", xcam->replay_repair,
                          "With --replay, of runs made with tracker.repair off: apply the tracker.repair of --base "
                          "(or --config) to the recorded tracks before re-id, as the tracker role would have; the "
                          "repaired boxes are written to TRACKS/repaired/ and scored from there");
  eval_xcam_cmd->add_option("--weaver", xcam->weaver, "weaver binary that runs the layouts (default: this one)");
  eval_xcam_cmd->add_flag("!--no-resolve", xcam->resolve,
                          "Score the online answers only (default: also after "
                          "the offline pass, under \"resolved\")");
  eval_xcam_cmd->callback([xcam] { throw CLI::RuntimeError(weaver::eval_crosscam_command(*xcam)); });

  auto app_eval = std::make_shared<weaver::eval_appearance_options>();
  auto eval_app_cmd = eval_cmd->add_subcommand(
    "appearance",
    "How well appearance descriptors tell people apart, from the MOT ground truth alone (no "
    "detector, tracker or re-id run): the video's people rendered through the virtual cameras of "
    "--layouts generated layouts of --seed (crops, perspective warps, people cut at view edges); "
    "per descriptor variant, ROC AUC, rank-1 and similarity percentiles of same- vs "
    "different-person pairs of boxes within a view and across views, and of visits (a person's "
    "run on a camera, descriptors averaged plainly and weighted by quality) across views. JSON "
    "on stdout, a table on stderr.");
  eval_app_cmd->add_option("--seed", app_eval->seed, "Layout generator seed (default 1)");
  eval_app_cmd->add_option("--layouts", app_eval->layouts, "Layouts 0..N-1 of the seed (default 6)")
    ->check(CLI::Range(1, 1000));
  eval_app_cmd->add_option("--video", app_eval->video, "Source video (default tools/data/vtest.avi)");
  eval_app_cmd->add_option("--gt", app_eval->gt,
                           "MOT ground truth of the video (default tests/data/PETS09-S2L1-gt.txt)");
  eval_app_cmd->add_option("--step", app_eval->step, "Every N-th frame (default 3)")->check(CLI::Range(1, 1000));
  eval_app_cmd->add_option("--max-frames", app_eval->max_frames, "Frames of the video (0 = all)");
  eval_app_cmd->add_option("--min-gap", app_eval->min_gap,
                           "Within a view, same-person pairs at least this many frames "
                           "apart (default 20)");
  eval_app_cmd->add_option(
    "--variant", app_eval->variants,
    "Descriptor variants (repeatable): parts joined by '+' on the pipeline's settings: pipeline, base "
    "(centre weighting and surround off), c<sigma> centre weighting, s surround foreground, p partial bodies, t<w> "
    "texture weight, v<w> value weight, m static "
    "background mask, k mapped by --metric; or nanodet (the detector's pooled embedding; runs NanoDet on every view)");
  eval_app_cmd->add_option("--q-height", app_eval->quality.full_height,
                           "Quality: full-weight box height, px (default 80)");
  eval_app_cmd->add_option("--q-border", app_eval->quality.border, "Quality: factor at the image border (default 0.2)");
  eval_app_cmd->add_option("--q-occlusion", app_eval->quality.occlusion,
                           "Quality: exponent on the uncovered share (default 1)");
  eval_app_cmd->add_option("--model", app_eval->model, "NanoDet model for the nanodet variant");
  eval_app_cmd->add_option("--metric", app_eval->metric, "A learnt re-id metric (reid.metric) for variants with k");
  eval_app_cmd->add_option("--out", app_eval->out, "Also write the JSON to this file");
  eval_app_cmd->callback([app_eval] { throw CLI::RuntimeError(weaver::eval_appearance_command(*app_eval)); });
}

// weaver track: one camera's tracker offline on MOT detections.
void add_track_command(CLI::App& app) {
  auto track = std::make_shared<weaver::track_options>();
  auto track_cmd = app.add_subcommand("track", "Run one camera's tracker offline on MOT detections; write MOT tracks.");
  track_cmd->add_option("--det", track->det, "MOT detections (frame,-1,x,y,w,h,score,...; frame 1-based)")->required();
  track_cmd->add_option("--out", track->out, "MOT tracks to write (frame,id,x,y,w,h,1,-1,-1,-1)")->required();
  track_cmd->add_option("--video", track->video,
                        "Video of the detections (frame n 0-based = MOT frame n+1), for appearance");
  track_cmd->add_option("--tracker", track->tracker, "deepsort (default) or sort")
    ->check(CLI::IsMember({"deepsort", "sort"}));
  track_cmd
    ->add_option("--appearance", track->appearance,
                 "handcrafted (default with --video: no centre weighting or surround, what the gates were tuned on), "
                 "pipeline (the detectors' default) or none")
    ->check(CLI::IsMember({"handcrafted", "pipeline", "none"}));
  track_cmd
    ->add_option("--boxes", track->boxes, "Boxes to write: detector (default) or filter (deepsort's Kalman estimate)")
    ->check(CLI::IsMember({"detector", "filter"}));
  track_cmd
    ->add_option("--repair", track->repair,
                 "Tracklet repair: fill (default: join fragments, interpolate missed frames), join, off")
    ->check(CLI::IsMember({"fill", "join", "off"}));
  track_cmd
    ->add_option("--smooth", track->smooth,
                 "With --repair fill: boxes averaged over N frames either side (default 3; 0: the tracker's)")
    ->check(CLI::NonNegativeNumber);
  track_cmd->add_option("--min-score", track->min_score, "Drop detections scoring below (default 0)");
  track_cmd->add_option("--n-init", track->n_init, "Hits to confirm a track (default: the tracker's)")
    ->check(CLI::PositiveNumber);
  track_cmd->add_option("--max-age", track->max_age, "Missed frames before a track ends (default: the tracker's)")
    ->check(CLI::NonNegativeNumber);
  track_cmd->add_option("--max-cosine-distance", track->max_cosine_distance, "Deep SORT appearance gate")
    ->check(CLI::Range(0.0, 2.0));
  track_cmd->add_option("--budget", track->budget, "Deep SORT features kept per track")->check(CLI::PositiveNumber);
  track_cmd->add_option("--lambda", track->lambda, "Deep SORT weight of motion in the cascade cost")
    ->check(CLI::Range(0.0, 1.0));
  track_cmd->add_flag("-q,--quiet", track->quiet, "No summary line");

  track_cmd->callback([track] { throw CLI::RuntimeError(weaver::track_command(*track)); });
}

// weaver reid resolve: the offline pass over a closed window.
void add_reid_commands(CLI::App& app) {
  auto resolve = std::make_shared<weaver::reid_resolve_options>();
  auto reid_cmd = app.add_subcommand("reid", "Cross-camera identities.");
  reid_cmd->require_subcommand(1);
  auto resolve_cmd = reid_cmd->add_subcommand(
    "resolve",
    "Re-solve the identities of a closed time window from the store (the offline pass) and write "
    "the corrections; answers for the window then say resolved.");
  resolve_cmd->add_option("--since", resolve->since, "Window start: tracklets that exited at or after (ISO-8601 or ms)")
    ->required();
  resolve_cmd->add_option("--until", resolve->until, "Window end: tracklets that exited before (ISO-8601 or ms)")
    ->required();
  resolve_cmd->add_option("-c,--config", resolve->config, "Configuration: its store, reid.links and reid.resolve");
  resolve_cmd->add_option("--db", resolve->db, "Or this store (SQLite file or postgresql:// URL), default settings");
  resolve_cmd->add_option("--link-threshold", resolve->link_threshold, "Overrides reid.resolve->link_threshold")
    ->check(CLI::Range(-1.0, 3.0));

  resolve_cmd->callback([resolve] { throw CLI::RuntimeError(weaver::reid_resolve_command(*resolve)); });

  auto learn = std::make_shared<weaver::reid_learn_metric_options>();
  auto learn_cmd = reid_cmd->add_subcommand(
    "learn-metric",
    "Learn re-id's appearance metric (reid.metric) from the tracks of recorded runs (weaver run --tracks DIR), "
    "without labels: one track's descriptors seconds apart are one person, two tracks on a camera at once are two.");
  learn_cmd->add_option("--tracks", learn->tracks, "A recorded run's folder (repeatable)")->required();
  learn_cmd->add_option("--out", learn->out, "The metric file to write (JSON)")->required();
  learn_cmd->add_option("--dims", learn->dims, "Dimensions kept (default 45)")->check(CLI::Range(1, 4096));
  learn_cmd
    ->add_option("--min-apart-s", learn->min_apart_s, "One track's descriptors at least this far apart (default 4)")
    ->check(CLI::Range(0.0, 3600.0));
  learn_cmd
    ->add_option("--ridge", learn->ridge,
                 "Adds this times their mean variance to both covariances' diagonals before inverting (default 1e-4)")
    ->check(CLI::Range(0.0, 100.0));
  learn_cmd->callback([learn] { throw CLI::RuntimeError(weaver::reid_learn_metric_command(*learn)); });
}

// weaver query: ask the REST gateway (or a store directly).
void add_query_command(CLI::App& app) {
  auto query = std::make_shared<weaver::query_options>();
  auto query_cmd =
    app.add_subcommand("query",
                       "Ask the REST gateway a query: weaver query <name> [key=value ...]. Prints the JSON "
                       "answer; exit code 1 with the gateway's error message. --list shows the queries and "
                       "their parameters.");
  query_cmd->add_option("name", query->name,
                        "Query: transitions, every_camera, occupancy, ... or alerts "
                        "(the live alert stream)");
  query_cmd->add_option("params", query->args, "Parameters as key=value (times ISO-8601)");
  query_cmd->add_option("--url", query->url, "Gateway URL (default $WEAVER_URL, else http://127.0.0.1:8080)");
  query_cmd->add_option("--token", query->token, "Bearer token (default $WEAVER_TOKEN)");
  query_cmd->add_option("--db", query->db,
                        "Answer from this store (SQLite file or postgresql:// URL) "
                        "directly, without a gateway");
  query_cmd->add_flag("--all-pages", query->all_pages, "Follow next_offset and print every page as one answer");
  query_cmd->add_flag("--list", query->list, "List the queries (routes) and their parameters");
  query_cmd->add_flag("--json", query->json, "With --list: print the route table as JSON");
  query_cmd->add_flag("--compact", query->compact, "Print the answer on one line");
  query_cmd->add_option("--timeout", query->timeout_s, "Seconds to wait for an answer (default 60)")
    ->check(CLI::PositiveNumber);
  query_cmd->add_option("--max-events", query->max_events, "alerts: exit after N events")
    ->check(CLI::NonNegativeNumber);

  query_cmd->callback([query] { throw CLI::RuntimeError(weaver::query_command(*query)); });
}

// The options of the commands that run the mesh (run, node) or check its
// configuration (check).
struct mesh_cli {
  std::string command; // run | node | check
  std::string cfg_path, summary_path;
  uint64_t max_frames = 0;
  bool reset = false, quiet = false;
  std::vector<std::string> roles;
  std::string detections_dir, tracks_dir;
  int gateway_port = -1;
  bool probe = false;
};

// weaver run | node | check.
void add_mesh_commands(CLI::App& app, mesh_cli& o) {
  auto run = app.add_subcommand("run", "Run every role in one process (the embedded default).");
  run->add_option("-c,--config", o.cfg_path, "Configuration file (YAML)")->required();
  run->add_option("--max-frames", o.max_frames, "Stop each source after N frames (0 = to its end)");
  run->add_option("--summary", o.summary_path, "Write the run summary as JSON to this file");
  run->add_flag("--reset", o.reset, "Start from an empty database (and fresh identity state files)");
  run->add_flag("-q,--quiet", o.quiet, "No progress lines");
  run->add_option("--detections", o.detections_dir, "Write each camera's detections to DIR/cam<id>.txt (MOT format)");
  run->add_option("--tracks", o.tracks_dir,
                  "Write each camera's confirmed tracks to DIR/cam<id>.txt (MOT results, for weaver eval mot) "
                  "and re-id's input to DIR/reid-input.rec (for weaver eval crosscam --replay)");

  auto node = app.add_subcommand("node",
                                 "Run some roles in this process; reach the others over ZeroMQ "
                                 "(endpoints from mesh.endpoints).");
  node->add_option("-c,--config", o.cfg_path, "Configuration file (YAML)")->required();
  node
    ->add_option("--role", o.roles,
                 "Role(s) to host: camera, detector, tracker, reid, storage, query, gateway "
                 "(repeat or comma-separate; default: the configuration's mesh.roles)")
    ->delimiter(',');
  node->add_option("--max-frames", o.max_frames, "camera role: stop each source after N frames");
  node->add_option("--summary", o.summary_path, "Write this node's summary as JSON to this file");
  node->add_flag("--reset", o.reset, "storage role: start from an empty database");
  node->add_flag("-q,--quiet", o.quiet, "No progress lines");
  node->add_option("--gateway-port", o.gateway_port, "gateway role: serve on this port (overrides gateway.port)")
    ->check(CLI::Range(1, 65535));

  auto check = app.add_subcommand("check", "Validate a configuration file and exit.");
  check->add_option("-c,--config", o.cfg_path, "Configuration file (YAML)")->required();
  check->add_flag("--probe", o.probe,
                  "Also open the live (network, device) camera sources; files and the "
                  "detector's model are always opened (exit code 1 when one fails)");

  run->callback([&o] { o.command = "run"; });
  node->callback([&o] { o.command = "node"; });
  check->callback([&o] { o.command = "check"; });
}

// Loads the configuration, then checks it, or runs this process's roles.
int mesh_command(mesh_cli& o) {
  weaver::config cfg;
  try {
    cfg = weaver::load_config(o.cfg_path);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  if (o.gateway_port > 0) cfg.gateway_port = o.gateway_port;
  for (const auto& n : cfg.notices) weaver::logger{"config"}.warn(n);
  if (o.command == "check") {
    std::cout << o.cfg_path << ": ok (" << cfg.cameras.size() << " cameras)\n";
    return weaver::probe_config(cfg, std::cout, o.probe);
  }
  weaver::run_options opts;
  opts.max_frames = o.max_frames;
  opts.reset = o.reset;
  opts.quiet = o.quiet;
  opts.detections_dir = o.detections_dir;
  opts.tracks_dir = o.tracks_dir;
  opts.stop = stop_flag;
  if (o.command == "node") {
    if (o.roles.empty()) o.roles = cfg.mesh.roles; // validated when the configuration was read
    if (o.roles.empty()) {
      std::cerr << "error: --role: required (or mesh.roles in the configuration)\n";
      return 2;
    }
    for (auto& r : o.roles) {
      auto& known = weaver::known_roles();
      if (std::find(known.begin(), known.end(), r) == known.end()) {
        std::cerr << "error: --role: unknown role '" << r << "'\n";
        return 2;
      }
    }
    opts.roles = o.roles;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // A stop drains what is in flight; if a peer is gone and that cannot
  // finish, leave anyway after a grace period rather than hang.
  std::thread([] {
    while (!stop_flag->load()) std::this_thread::sleep_for(std::chrono::milliseconds{100});
    std::this_thread::sleep_for(std::chrono::seconds{10});
    std::cerr << "error: shutdown did not finish within 10 s; exiting\n";
    std::_Exit(130);
  }).detach();
  auto result = weaver::run_mesh(cfg, opts);
  if (result.exit_code != 0) {
    std::cerr << "error: " << result.error << "\n";
    return result.exit_code;
  }
  int rc = write_summary(result, o.summary_path, !o.quiet);
  // The run's answers hold for the cameras that ran; a file source that
  // failed (undecodable, truncated) still makes the run's status a failure.
  for (const auto& e : result.summary.value("source_errors", nlohmann::json::array())) {
    std::cerr << "error: " << e.get<std::string>() << "\n";
    rc = rc == 0 ? 1 : rc;
  }
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  // Large blocks come from the heap and freed ones stay there for reuse,
  // from the start. glibc moves its thresholds there by itself once the
  // first large mmap'd block is freed; until then every large allocation
  // is fresh pages, and loading a model allocates its weights several times
  // over (protobuf's bytes, the tensors, each pass's rewritten weights,
  // oneDNN's reordered copies). A first touch costs far more than a copy
  // (15 MB: about 60 ms of page faults in a VM vs 1 ms of memcpy), so
  // reusing the freed blocks cut NanoDet's passes from ~50 to ~6 ms CPU
  // and its session from ~90 to ~60.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  CLI::App app{
    "Weaver: real-time multi-camera video analytics on accelerator cards.\n"
    "Cameras -> detector on a card pool -> tracker -> re-id -> storage -> query.",
    "weaver"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "weaver 0.1.0");

  mesh_cli mesh;
  add_mesh_commands(app, mesh);
  add_keys_command(app);
  add_cards_command(app);
  add_model_commands(app);
  add_eval_commands(app);
  add_track_command(app);
  add_reid_commands(app);
  add_query_command(app);

  CLI11_PARSE(app, argc, argv);
  return mesh_command(mesh);
}
