// The query actor: answers named queries over a read connection to the
// store. Queries (parameters in brackets):
//   transitions  (from, to, [t0], [t1], [max_transit_s]) - the seed's X->Y
//   every_camera (cameras=1,2,3, [day=YYYY-MM-DD])       - seen on every camera
#pragma once

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/storage/sqlite_store.hpp"

namespace weaver {

struct query_state {
  static inline const char* name = "query";
  std::unique_ptr<sqlite_store> store;   // its own connection (WAL: readers run beside the writer)
  int64_t default_max_transit_ms = 60000;
};

/// Answers one request against an open store (pure; used by the actor).
query_response answer_query(sqlite3* db, const query_request& req, int64_t default_max_transit_ms);

query_actor::behavior_type query_actor_impl(query_actor::stateful_pointer<query_state> self,
                                            std::string db_path, int64_t default_max_transit_ms);

} // namespace weaver
