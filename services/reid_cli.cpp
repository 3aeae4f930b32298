#include "services/reid_cli.hpp"

#include <fstream>
#include <iostream>
#include <stdexcept>

#include "actors/reid/appearance_metric.hpp"
#include "actors/reid/reid_recording.hpp"
#include "actors/reid/resolve_pass.hpp"
#include "actors/storage/store.hpp"
#include "base/iso8601.hpp"
#include "services/config.hpp"

namespace weaver {

namespace {

// ISO-8601, or plain milliseconds since the epoch.
std::optional<timestamp_ms> parse_time(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 15)
    return std::stoll(text);
  return parse_iso8601(text);
}

} // namespace

nlohmann::json reid_resolve(const std::string& location, timestamp_ms since_ms, timestamp_ms until_ms,
                            const resolver_config& cfg) {
  auto db = store::open(location);
  auto r = resolve_window(*db, since_ms, until_ms, cfg);
  return nlohmann::json{{"since", format_iso8601(r.since_ms)},
                        {"until", format_iso8601(r.until_ms)},
                        {"tracklets", r.tracklets},
                        {"people_online", r.people_before},
                        {"people_resolved", r.people_after},
                        {"moved", r.moved},
                        {"merges", r.merges},
                        {"split_out", r.split_out},
                        {"links", r.links},
                        {"evicted", r.evicted},
                        {"rechained", r.rechained},
                        {"resolver_s", r.seconds},
                        {"resolved_until", db->resolved_until() ? format_iso8601(*db->resolved_until()) : ""}};
}

int reid_resolve_command(const reid_resolve_options& o) {
  auto since = parse_time(o.since), until = parse_time(o.until);
  if (!since || !until) {
    std::cerr << "error: reid resolve: --" << (since ? "until" : "since") << " '" << (since ? o.until : o.since)
              << "' is not an ISO-8601 time or ms since the epoch\n";
    return 2;
  }
  if (*until <= *since) {
    std::cerr << "error: reid resolve: --until must be after --since\n";
    return 2;
  }
  if (o.config.empty() == o.db.empty()) {
    std::cerr << "error: reid resolve: give -c CONFIG or --db STORE\n";
    return 2;
  }
  resolver_config cfg;
  std::string location = o.db;
  if (!o.config.empty()) {
    try {
      auto c = load_config(o.config);
      cfg = c.reid.resolver;
      location = c.storage_path;
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    }
  }
  if (o.link_threshold >= -1) cfg.link_threshold = o.link_threshold;
  try {
    std::cout << reid_resolve(location, *since, *until, cfg).dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: reid resolve: " << e.what() << "\n";
    return 1;
  }
}

int reid_learn_metric_command(const reid_learn_metric_options& o) {
  if (o.tracks.empty() || o.out.empty()) {
    std::cerr << "error: reid learn-metric: give --tracks DIR (one or more) and --out FILE\n";
    return 2;
  }
  std::vector<metric_sample> samples;
  for (size_t r = 0; r < o.tracks.size(); ++r) {
    try {
      for (const auto& in : read_reid_recording(reid_recording_path(o.tracks[r]))) {
        const auto* b = std::get_if<track_batch>(&in);
        if (!b) continue;
        for (const auto& e : b->events)
          if (e.state == track_state::updated && !e.feature.empty())
            samples.push_back({static_cast<uint32_t>(r), e.camera_id, e.track_id, e.time_ms, e.feature});
      }
    } catch (const std::exception& e) {
      std::cerr << "error: reid learn-metric: " << e.what() << "\n";
      return 1;
    }
  }
  metric_fit_options fo;
  fo.dims = o.dims;
  fo.min_apart_ms = static_cast<int64_t>(o.min_apart_s * 1000);
  fo.ridge = o.ridge;
  metric_fit_report rep;
  try {
    auto m = appearance_metric::fit(samples, fo, &rep);
    std::ofstream out(o.out);
    out << m.to_json().dump() << "\n";
    if (!out.flush()) throw std::runtime_error("cannot write " + o.out);
    std::cout << nlohmann::json{{"out", o.out},
                                {"descriptors", rep.samples},
                                {"tracks", rep.tracks},
                                {"same_pairs", rep.positives},
                                {"different_pairs", rep.negatives},
                                {"input_dims", m.input_dims()},
                                {"dims", m.output_dims()}}
                   .dump(2)
              << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: reid learn-metric: " << e.what() << "\n";
    return 1;
  }
}

} // namespace weaver
