// `weaver reid resolve`: the offline pass on demand over one closed window
// of a store (actors/reid/resolve_pass):
//
//   weaver reid resolve --since 2026-11-21T10:00 --until 2026-11-21T11:00 -c weaver.yaml
//   weaver reid resolve --since 0 --until 9999-01-01 --db run.db
//
// Times are ISO-8601 (UTC unless an offset is given) or ms since the epoch.
// Prints a JSON report; exit code 0, 1 when the store failed, 2 on a usage
// error.
//
// `weaver reid learn-metric`: learns re-id's appearance metric
// (actors/reid/appearance_metric) from the tracks of recorded runs
// (`weaver run --tracks DIR`), no labels needed, for reid.metric:
//
//   weaver reid learn-metric --tracks run1 --tracks run2 --out reid-metric.json
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/reid/offline_resolver.hpp"

namespace weaver {

struct reid_resolve_options {
  std::string since, until;
  std::string config; // the store and reid.links / reid.resolve settings from here ...
  std::string db; // ... or this store with the default settings
  float link_threshold = -10; // < -1: the configuration's
};

int reid_resolve_command(const reid_resolve_options& o);

struct reid_learn_metric_options {
  std::vector<std::string> tracks; // recording folders
  std::string out;
  // Chosen on seed 1's layouts (README, "A learnt appearance metric").
  size_t dims = 45;
  double min_apart_s = 4;
  double ridge = 1e-4; // metric_fit_options::ridge
};

/// Exit code 0; 1 when a recording cannot be read or holds too little to
/// learn from; 2 on a usage error. Prints what it learnt from as JSON.
int reid_learn_metric_command(const reid_learn_metric_options& o);

/// Resolves [since, until) of the store at `location` with `cfg`; the
/// report as JSON. Throws std::runtime_error.
nlohmann::json reid_resolve(const std::string& location, timestamp_ms since_ms, timestamp_ms until_ms,
                            const resolver_config& cfg);

} // namespace weaver
