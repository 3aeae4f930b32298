#include "tools/eval/eval_cli.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <stdexcept>

#include <yaml-cpp/yaml.h>
#include <opencv2/videoio.hpp>

#include "actors/query/seed_queries.hpp"
#include "actors/storage/store.hpp"
#include "tools/eval/crosscam_truth.hpp"
#include "tools/eval/eval_crosscam.hpp"
#include "tools/eval/eval_replay.hpp"

namespace weaver {

std::string mot_sequence_name(const std::string& gt_path) {
  namespace fs = std::filesystem;
  fs::path p{gt_path};
  fs::path dir = p.parent_path();
  if (dir.filename() == "gt" && dir.has_parent_path() && !dir.parent_path().filename().empty())
    return dir.parent_path().filename().string();
  if (!dir.filename().empty() && dir.filename() != "." && dir.filename() != "..") return dir.filename().string();
  return p.stem().string();
}

nlohmann::json mot_json(const mot::mot_counts& c) {
  auto s = mot::summarize(c);
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return nlohmann::json{
    // identity (Ristani et al. 2016)
    {"idf1", num(s.idf1)},
    {"idp", num(s.idp)},
    {"idr", num(s.idr)},
    {"idtp", c.idtp},
    {"idfp", c.idfp},
    {"idfn", c.idfn},
    // CLEAR MOT (py-motmetrics)
    {"recall", num(s.recall)},
    {"precision", num(s.precision)},
    {"num_unique_objects", c.num_unique_objects},
    {"mostly_tracked", c.mostly_tracked},
    {"partially_tracked", c.partially_tracked},
    {"mostly_lost", c.mostly_lost},
    {"num_false_positives", c.num_false_positives},
    {"num_misses", c.num_misses},
    {"num_switches", c.num_switches},
    {"num_fragmentations", c.num_fragmentations},
    {"mota", num(s.mota)},
    {"motp", num(s.motp)},
    {"num_frames", c.frames},
    {"num_objects", c.num_objects},
    {"num_predictions", c.num_predictions},
    {"num_matches", c.num_matches},
    {"num_detections", c.num_matches + c.num_switches},
    // HOTA (TrackEval), averaged over alpha = 0.05 .. 0.95
    {"hota", num(s.hota)},
    {"deta", num(s.deta)},
    {"assa", num(s.assa)},
    {"loca", num(s.loca)},
    {"detre", num(s.detre)},
    {"detpr", num(s.detpr)},
    {"assre", num(s.assre)},
    {"asspr", num(s.asspr)},
  };
}

nlohmann::json eval_mot(const eval_mot_options& o) {
  if (o.gt.empty()) throw std::invalid_argument("give at least one --gt FILE --res FILE pair");
  if (o.gt.size() != o.res.size())
    throw std::invalid_argument("--gt and --res must come in pairs (got " + std::to_string(o.gt.size()) + " --gt and "
                                + std::to_string(o.res.size()) + " --res)");
  if (!o.name.empty() && o.name.size() != o.gt.size())
    throw std::invalid_argument("--name: give one per sequence or none");
  if (!(o.iou > 0 && o.iou <= 1)) throw std::invalid_argument("--iou must be in (0, 1]");
  mot::mot_options opts;
  opts.min_iou = o.iou;
  nlohmann::json seqs = nlohmann::json::array();
  std::vector<mot::mot_counts> parts;
  for (size_t k = 0; k < o.gt.size(); ++k) {
    auto gt = mot::load_mot(o.gt[k], true);
    auto res = mot::load_mot(o.res[k], false);
    parts.push_back(mot::evaluate_sequence(gt, res, opts));
    seqs.push_back({{"name", o.name.empty() ? mot_sequence_name(o.gt[k]) : o.name[k]},
                    {"gt", o.gt[k]},
                    {"res", o.res[k]},
                    {"metrics", mot_json(parts.back())}});
  }
  return nlohmann::json{{"iou", o.iou}, {"sequences", seqs}, {"overall", mot_json(mot::combine(parts))}};
}

int eval_mot_command(const eval_mot_options& o) {
  nlohmann::json j;
  try {
    j = eval_mot(o);
  } catch (const std::exception& e) {
    std::cerr << "error: eval mot: " << e.what() << "\n";
    return 2;
  }
  const std::string text = j.dump(2);
  std::cout << text << "\n";
  if (!o.out.empty()) {
    std::ofstream out{o.out};
    if (!(out << text << "\n")) {
      std::cerr << "error: eval mot: --out: cannot write " << o.out << "\n";
      return 1;
    }
  }
  return 0;
}

namespace {

using json = nlohmann::json;

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string self_binary() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("weaver") : p.string();
}

json overall(const json& layouts, const std::vector<mot::mot_counts>& counts) {
  int64_t total = 0, err = 0, every_err = 0, every_true = 0, pt = 0, pw = 0;
  for (const auto& l : layouts) {
    total += l["transitions_true_total"].get<int64_t>();
    err += l["transitions_abs_error"].get<int64_t>();
    every_err += l["every_camera"]["abs_error"].get<int64_t>();
    every_true += l["every_camera"]["truth"].get<int64_t>();
    pt += l["people"]["truth"].get<int64_t>();
    pw += l["people"]["weaver"].get<int64_t>();
  }
  json o{{"layouts", layouts.size()},
         {"transitions_true_total", total},
         {"transitions_abs_error", err},
         {"transitions_error", ratio(double(err), double(total))},
         {"every_camera", {{"truth", every_true}, {"abs_error", every_err}}},
         {"people", {{"truth", pt}, {"weaver", pw}}}};
  if (!counts.empty()) o["identity"] = crosscam_identity_json(mot::combine(counts));
  // True transitions carried and invented ones (layouts scored with --tracks), summed.
  if (!layouts.empty()
      && std::all_of(layouts.begin(), layouts.end(), [](const json& l) { return l.contains("transitions_carried"); })) {
    int64_t carried = 0, invented = 0, ceiling = 0;
    for (const auto& l : layouts) {
      carried += l["transitions_carried"].get<int64_t>();
      invented += l["transitions_invented"].get<int64_t>();
      ceiling += l["oracle"]["transitions_carried"].get<int64_t>();
    }
    o["transitions_carried"] = carried;
    o["transitions_invented"] = invented;
    o["oracle_transitions_carried"] = ceiling;
  }
  // Pairwise identity decisions (layouts scored with --tracks), summed.
  if (!layouts.empty()
      && std::all_of(layouts.begin(), layouts.end(), [](const json& l) { return l.contains("links"); })) {
    json links;
    for (auto kind : {"cross_camera", "same_camera"}) {
      int64_t right = 0, wrong = 0, missed = 0;
      for (const auto& l : layouts) {
        right += l["links"][kind]["right"].get<int64_t>();
        wrong += l["links"][kind]["wrong"].get<int64_t>();
        missed += l["links"][kind]["missed"].get<int64_t>();
      }
      links[kind] = {{"right", right},
                     {"wrong", wrong},
                     {"missed", missed},
                     {"precision", ratio(double(right), double(right + wrong))},
                     {"recall", ratio(double(right), double(right + missed))}};
    }
    o["links"] = links;
  }
  // Perfect identities on the same tracks (layouts scored with --tracks).
  int64_t oracle = 0;
  bool all = !layouts.empty();
  for (const auto& l : layouts) {
    all = all && l.contains("oracle");
    if (l.contains("oracle")) oracle += l["oracle"]["transitions_abs_error"].get<int64_t>();
  }
  if (all)
    o["oracle"] = {{"transitions_abs_error", oracle}, {"transitions_error", ratio(double(oracle), double(total))}};
  return o;
}

} // namespace

int eval_crosscam_command(const eval_crosscam_options& o) {
  namespace fs = std::filesystem;
  const bool generate = o.layouts > 0;
  if (generate == !o.config.empty()) {
    std::cerr << "error: eval crosscam: give --layouts N (with --out DIR) or --config FILE\n";
    return 2;
  }
  if (generate && o.out.empty()) {
    std::cerr << "error: eval crosscam: --layouts needs --out DIR\n";
    return 2;
  }
  if (o.replay && !generate && o.tracks.empty()) {
    std::cerr << "error: eval crosscam: --replay with --config needs --tracks DIR (the run's recording)\n";
    return 2;
  }
  json layouts = json::array(), resolved = json::array();
  std::vector<mot::mot_counts> counts, resolved_counts;
  // One run's figures: online and, with o.resolve, after the offline pass
  // over a copy of its store (under "resolved").
  auto score = [&](const config& cfg, const std::string& db, const std::string& tracks) {
    mot::mot_counts c;
    auto m = crosscam_metrics(cfg, db, tracks, o.gt, o.max_frames, &c);
    if (!tracks.empty()) counts.push_back(c);
    if (o.resolve) {
      mot::mot_counts rc;
      auto pass = resolve_copy(cfg, db, db + ".resolved");
      m["resolved"] = crosscam_metrics(cfg, db + ".resolved", tracks, o.gt, o.max_frames, &rc);
      m["resolved"]["pass"] = pass;
      resolved.push_back(m["resolved"]);
      if (!tracks.empty()) resolved_counts.push_back(rc);
    }
    return m;
  };
  // The recording to replay; with --replay-repair, through the settings'
  // tracklet repair first, and the boxes to score are the repaired ones.
  auto recorded = [&](const config& cfg, const std::string& tracks, std::string& scored, cv::Size frame) {
    auto input = read_reid_recording(reid_recording_path(tracks));
    if (!o.replay_repair) return input;
    scored = (std::filesystem::path(tracks) / "repaired").string();
    std::filesystem::remove_all(scored);
    return repair_recording(cfg, input, frame.width, frame.height, scored);
  };
  auto video_size = [&] {
    cv::VideoCapture cap(o.video);
    if (!cap.isOpened()) throw std::runtime_error("cannot open --video " + o.video);
    return cv::Size{static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH)),
                    static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT))};
  };
  try {
    if (!generate) {
      auto cfg = load_config(o.config);
      const std::string db = o.db.empty() ? cfg.storage_path : o.db;
      std::string tracks = o.tracks;
      if (o.replay) replay_reid(cfg, recorded(cfg, o.tracks, tracks, video_size()), db);
      auto m = score(cfg, db, tracks);
      m["name"] = o.config;
      layouts.push_back(m);
    } else {
      cv::VideoCapture cap(o.video);
      if (!cap.isOpened()) throw std::runtime_error("cannot open --video " + o.video);
      const cv::Size frame{static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH)),
                           static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT))};
      cap.release();
      fs::create_directories(o.out);
      const std::string bin = o.weaver.empty() ? self_binary() : o.weaver;
      for (const auto& l : generate_layouts(o.seed, o.layouts, frame)) {
        const fs::path dir = fs::absolute(o.out);
        const auto yaml = (dir / (l.name + ".yaml")).string();
        const auto db = (dir / (l.name + ".db")).string();
        const auto tracks = (dir / (l.name + "-tracks")).string();
        std::ofstream(yaml) << layout_config_yaml(l, o.base, o.video, db, o.detector);
        if (o.replay) {
          // Re-id alone over what the layout's earlier run recorded.
          const auto t0 = std::chrono::steady_clock::now();
          const auto cfg = load_config(yaml);
          std::string scored = tracks;
          replay_reid(cfg, recorded(cfg, tracks, scored, frame), db);
          const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          auto m = score(cfg, db, scored);
          m["name"] = l.name;
          m["kind"] = l.kind;
          m["config"] = yaml;
          m["cameras"] = l.cameras.size();
          m["replay_s"] = std::round(secs * 100) / 100;
          std::cerr << m.dump() << "\n";
          layouts.push_back(m);
          continue;
        }
        fs::remove_all(tracks);
        std::string cmd = quoted(bin) + " run -q --reset -c " + quoted(yaml) + " --tracks " + quoted(tracks);
        if (o.max_frames > 0) cmd += " --max-frames " + std::to_string(o.max_frames);
        cmd += " > " + quoted((dir / (l.name + ".log")).string()) + " 2>&1";
        const auto t0 = std::chrono::steady_clock::now();
        const int rc = std::system(cmd.c_str());
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (rc != 0) {
          std::cerr << "error: eval crosscam: " << l.name << ": the run failed (see " << dir.string() << "/" << l.name
                    << ".log)\n";
          return 1;
        }
        auto m = score(load_config(yaml), db, tracks);
        m["name"] = l.name;
        m["kind"] = l.kind;
        m["config"] = yaml;
        m["cameras"] = l.cameras.size();
        m["run_s"] = std::round(secs * 10) / 10;
        std::cerr << m.dump() << "\n"; // each layout as it is done
        layouts.push_back(m);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "error: eval crosscam: " << e.what() << "\n";
    return 2;
  }
  json report{{"seed", o.seed},
              {"max_frames", o.max_frames},
              {"gt", o.gt},
              {"layouts", layouts},
              {"overall", overall(layouts, counts)}};
  // Online (as re-id decided) and, under "resolved", after the offline pass.
  if (o.resolve) report["overall"]["resolved"] = overall(resolved, resolved_counts);
  if (!o.detector.empty()) report["detector"] = o.detector;
  if (!generate) report.erase("seed");
  const std::string text = report.dump(2);
  std::cout << text << "\n";
  if (generate) std::ofstream(fs::path(o.out) / "report.json") << text << "\n";
  return 0;
}

} // namespace weaver
