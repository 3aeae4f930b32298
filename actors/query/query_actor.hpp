// The query actor: answers named queries over the store it is given (its
// own connection, or a handle on the storage role's when both run in one
// process), and runs the standing queries (alerts) on a timer. Queries and
// their parameters (times ISO-8601; lists paginated by limit / offset):
//   transitions  from, to, [t0], [t1], [max_transit_s]   the seed's X -> Y
//   every_camera cameras=1,2,3, day=YYYY-MM-DD            seen on every camera
//   occupancy    camera | zone, t0, t1, [step_s]
//   dwell        camera | zone, t0, t1, [bucket_s]
//   paths        t0, t1, [top], [min_length]
//   funnel       steps=1,2,3, t0, t1, [max_step_s]
//   trajectory   person, [t0], [t1]
//   visitors     t0, t1, [bucket=day|hour], [camera]
//   cameras
//   events       [since_id], [kind], [t0], [t1]
#pragma once

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/query/standing_queries.hpp"
#include "actors/storage/store.hpp"

namespace weaver {

struct query_settings {
  int64_t default_max_transit_ms = 60000;
  int64_t max_stay_ms = 86'400'000; // occupancy looks this far back for stays
  std::vector<alert_rule> alerts;
  std::chrono::milliseconds alert_every{1000};
};

struct query_state {
  static inline const char* name = "query";
  std::shared_ptr<store> db;
  query_settings settings;
  std::unique_ptr<standing_queries> rules;
};

/// Answers one request against an open database (pure; used by the actor).
query_response answer_query(sql::database& db, const query_request& req, const query_settings& settings);

/// The names answer_query knows.
const std::vector<std::string>& query_names();

/// {"resolved": bool, "resolved_until": ISO-8601 | null}: whether the
/// stored tracklets of [t0, t1) are all in windows the offline pass resolved.
nlohmann::json resolution_status(sql::database& db, timestamp_ms t0, timestamp_ms t1);

query_actor::behavior_type query_actor_impl(query_actor::stateful_pointer<query_state> self, std::shared_ptr<store> db,
                                            query_settings settings);

} // namespace weaver
