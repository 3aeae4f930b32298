// eval_crosscam: how far Weaver's cross-camera answers are from the truth.
//
// Takes a configuration whose cameras are crops of one video with MOT ground
// truth (the demo: vtest.avi = PETS09-S2L1 in three thirds), derives the true
// presence intervals of every ground-truth person on every virtual camera,
// and answers the configured questions (X -> Y transitions, people on every
// camera) over the truth and over the store a `weaver run` left, with the
// same SQL. Prints both and the differences. A measurement, not a test.
//
// Usage: eval_crosscam -c deploy/demo.yaml [--gt tests/data/PETS09-S2L1-gt.txt]
//                      [--db FILE (default: the config's storage.path)] [--json]
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "actors/query/seed_queries.hpp"
#include "actors/reid/crosscam_truth.hpp"
#include "actors/storage/store.hpp"
#include "services/config.hpp"
#include "services/runtime.hpp"

using namespace weaver;

int main(int argc, char** argv) {
  std::string cfg_path, gt_path = "tests/data/PETS09-S2L1-gt.txt", db_path;
  bool json = false;
  CLI::App app{"Cross-camera answers of a run's store against the ground truth's."};
  app.add_option("-c", cfg_path, "Configuration of the run (YAML)")->required();
  app.add_option("--gt", gt_path, "MOT ground truth of the source video");
  app.add_option("--db", db_path, "Store the run left (default: the configuration's)");
  app.add_flag("--json", json, "Print JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    auto cfg = load_config(cfg_path);
    if (db_path.empty()) db_path = cfg.storage_path;
    std::vector<virtual_camera> cams;
    for (auto& c : cfg.cameras) {
      virtual_camera v;
      v.id = c.id;
      if (c.crop) v.crop = {float((*c.crop)[0]), float((*c.crop)[1]), float((*c.crop)[2]), float((*c.crop)[3])};
      else v.crop = {0, 0, 1e9f, 1e9f};
      v.start_ms = c.start_ms;
      v.fps = c.fps > 0 ? c.fps : 10;
      cams.push_back(v);
    }
    auto rows = true_presence(load_mot_gt(gt_path), cams);
    auto truth_db = store::open(":memory:");
    auto& truth = *truth_db;
    for (auto& c : cfg.cameras) truth.upsert_camera(c.id, c.name, c.zone);
    presence_batch pb;
    pb.rows = rows;
    truth.write(pb);
    auto weaver_db = store::open(db_path);
    auto& weaver = *weaver_db;
    auto t = seed_answers(cfg, truth.db());
    auto w = seed_answers(cfg, weaver.db());
    nlohmann::json out;
    out["truth"] = t;
    out["weaver"] = w;
    out["truth_people"] = truth.person_count();
    out["weaver_people"] = weaver.person_count();
    out["truth_rows"] = truth.presence_count();
    out["weaver_rows"] = weaver.presence_count();
    double abs_err = 0;
    int n = 0;
    for (size_t k = 0; k < t["transitions"].size(); ++k) {
      abs_err += std::abs(t["transitions"][k]["people"].get<double>() - w["transitions"][k]["people"].get<double>());
      ++n;
    }
    out["transitions_mean_abs_error"] = n ? abs_err / n : 0.0;
    if (json) {
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    std::printf("ground truth: %zu people, %zu presence rows; weaver: %zu people, %zu rows\n",
                truth.person_count(), truth.presence_count(), weaver.person_count(),
                weaver.presence_count());
    std::printf("%-22s %6s %7s %6s\n", "question", "truth", "weaver", "error");
    for (size_t k = 0; k < t["transitions"].size(); ++k) {
      auto& a = t["transitions"][k];
      auto& b = w["transitions"][k];
      char q[64];
      std::snprintf(q, sizeof q, "camera %u -> %u", a["from"].get<unsigned>(), a["to"].get<unsigned>());
      std::printf("%-22s %6lld %7lld %+6lld\n", q, a["people"].get<long long>(), b["people"].get<long long>(),
                  b["people"].get<long long>() - a["people"].get<long long>());
    }
    auto te = t["every_camera"]["people"].get<long long>(), we = w["every_camera"]["people"].get<long long>();
    std::printf("%-22s %6lld %7lld %+6lld\n", "on every camera", te, we, we - te);
    std::printf("transitions: mean absolute error %.2f people\n", out["transitions_mean_abs_error"].get<double>());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
