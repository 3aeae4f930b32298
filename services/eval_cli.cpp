#include "services/eval_cli.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace weaver {

std::string mot_sequence_name(const std::string& gt_path) {
  namespace fs = std::filesystem;
  fs::path p{gt_path};
  fs::path dir = p.parent_path();
  if (dir.filename() == "gt" && dir.has_parent_path() && !dir.parent_path().filename().empty())
    return dir.parent_path().filename().string();
  if (!dir.filename().empty() && dir.filename() != "." && dir.filename() != "..")
    return dir.filename().string();
  return p.stem().string();
}

nlohmann::json mot_json(const mot::mot_counts& c) {
  auto s = mot::summarize(c);
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return nlohmann::json{
    // identity (Ristani et al. 2016)
    {"idf1", num(s.idf1)}, {"idp", num(s.idp)}, {"idr", num(s.idr)},
    {"idtp", c.idtp}, {"idfp", c.idfp}, {"idfn", c.idfn},
    // CLEAR MOT (py-motmetrics)
    {"recall", num(s.recall)}, {"precision", num(s.precision)},
    {"num_unique_objects", c.num_unique_objects},
    {"mostly_tracked", c.mostly_tracked}, {"partially_tracked", c.partially_tracked},
    {"mostly_lost", c.mostly_lost},
    {"num_false_positives", c.num_false_positives}, {"num_misses", c.num_misses},
    {"num_switches", c.num_switches}, {"num_fragmentations", c.num_fragmentations},
    {"mota", num(s.mota)}, {"motp", num(s.motp)},
    {"num_frames", c.frames}, {"num_objects", c.num_objects},
    {"num_predictions", c.num_predictions}, {"num_matches", c.num_matches},
    {"num_detections", c.num_matches + c.num_switches},
    // HOTA (TrackEval), averaged over alpha = 0.05 .. 0.95
    {"hota", num(s.hota)}, {"deta", num(s.deta)}, {"assa", num(s.assa)},
    {"loca", num(s.loca)}, {"detre", num(s.detre)}, {"detpr", num(s.detpr)},
    {"assre", num(s.assre)}, {"asspr", num(s.asspr)},
  };
}

nlohmann::json eval_mot(const eval_mot_options& o) {
  if (o.gt.empty())
    throw std::invalid_argument("give at least one --gt FILE --res FILE pair");
  if (o.gt.size() != o.res.size())
    throw std::invalid_argument("--gt and --res must come in pairs (got "
                                + std::to_string(o.gt.size()) + " --gt and "
                                + std::to_string(o.res.size()) + " --res)");
  if (!o.name.empty() && o.name.size() != o.gt.size())
    throw std::invalid_argument("--name: give one per sequence or none");
  if (!(o.iou > 0 && o.iou <= 1))
    throw std::invalid_argument("--iou must be in (0, 1]");
  mot::mot_options opts;
  opts.min_iou = o.iou;
  nlohmann::json seqs = nlohmann::json::array();
  std::vector<mot::mot_counts> parts;
  for (size_t k = 0; k < o.gt.size(); ++k) {
    auto gt = mot::load_mot(o.gt[k], true);
    auto res = mot::load_mot(o.res[k], false);
    parts.push_back(mot::evaluate_sequence(gt, res, opts));
    seqs.push_back({{"name", o.name.empty() ? mot_sequence_name(o.gt[k]) : o.name[k]},
                    {"gt", o.gt[k]}, {"res", o.res[k]}, {"metrics", mot_json(parts.back())}});
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

} // namespace weaver
