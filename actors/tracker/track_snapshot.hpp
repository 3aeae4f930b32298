// The fields SORT's and Deep SORT's tracks share, to and from JSON, for the
// trackers' snapshots (a restarted tracker continues its tracks and ids).
#pragma once

#include <nlohmann/json.hpp>

#include "actors/tracker/track_record.hpp"

namespace weaver {

template <class Track>
nlohmann::json track_to_json(const Track& t) {
  return {{"filter", t.filter.state()},
          {"id", t.id},
          {"class_id", t.class_id},
          {"hits", t.hits},
          {"misses", t.misses},
          {"first_ms", t.first_ms},
          {"first_seq", t.first_seq},
          {"last_ms", t.last_ms},
          {"last_seq", t.last_seq},
          {"last_box", {t.last_box.x, t.last_box.y, t.last_box.w, t.last_box.h}},
          {"last_score", t.last_score},
          {"feature_sum", t.feature_sum},
          {"feature_count", t.feature_count}};
}

template <class Track>
void track_from_json(Track& t, const nlohmann::json& j) {
  t.filter.set_state(j.at("filter").get<std::vector<double>>());
  t.id = j.at("id").get<uint64_t>();
  t.class_id = j.at("class_id").get<int32_t>();
  t.hits = j.at("hits").get<int>();
  t.misses = j.at("misses").get<int>();
  t.first_ms = j.at("first_ms").get<timestamp_ms>();
  t.first_seq = j.at("first_seq").get<uint64_t>();
  t.last_ms = j.at("last_ms").get<timestamp_ms>();
  t.last_seq = j.at("last_seq").get<uint64_t>();
  auto b = j.at("last_box").get<std::vector<float>>();
  if (b.size() != 4) throw std::invalid_argument("track: last_box needs 4 numbers");
  t.last_box = {b[0], b[1], b[2], b[3]};
  t.last_score = j.at("last_score").get<float>();
  t.feature_sum = j.at("feature_sum").get<std::vector<double>>();
  t.feature_count = j.at("feature_count").get<uint64_t>();
}

} // namespace weaver
