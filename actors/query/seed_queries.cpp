#include "actors/query/seed_queries.hpp"

#include <algorithm>
#include <ctime>
#include <string>

namespace weaver {

namespace {

std::vector<uint64_t> ids_of(const std::vector<sql::row>& rows) {
  std::vector<uint64_t> ids;
  ids.reserve(rows.size());
  for (auto& r : rows) ids.push_back(static_cast<uint64_t>(sql::as_int(r[0])));
  return ids;
}

} // namespace

transition_result count_transitions(sql::database& db, uint32_t from_camera, uint32_t to_camera, timestamp_ms t0,
                                    timestamp_ms t1, int64_t max_transit_ms) {
  // SQLite finds x through (camera_id, enter, ...) and each y through the
  // unique (person_id, camera_id, enter) index. PostgreSQL's planner prefers
  // a hash join over y's camera: the bounds on y.enter below (implied by the
  // conditions after them, so the answer is the same) keep that side to the
  // window's time, and both sides read the covering index only. Measured
  // over 10M rows (tools/bench_storage.sh): PostgreSQL 77-120 -> 22 ms; on
  // SQLite the extra max() costs 27 -> 43 ms, so it asks without it.
  std::string text =
    "SELECT DISTINCT x.person_id "
    "FROM people_present AS x "
    "JOIN people_present AS y "
    "  ON y.person_id = x.person_id AND y.camera_id = ?2 "
    "WHERE x.camera_id = ?1 AND x.enter >= ?3 AND x.enter < ?4 AND x.exit > x.enter ";
  if (db.kind() == sql::dialect::postgres)
    text +=
      "  AND y.enter >= ?3 "
      "  AND (?5 < 0 OR y.enter <= (SELECT max(z.exit) FROM people_present AS z "
      "    WHERE z.camera_id = ?1 AND z.enter >= ?3 AND z.enter < ?4) + ?5) ";
  text +=
    "  AND y.enter >= x.enter AND y.exit > x.exit AND y.exit > y.enter "
    "  AND (?5 < 0 OR y.enter - x.exit <= ?5) "
    "ORDER BY x.person_id";
  transition_result r;
  r.from = from_camera;
  r.to = to_camera;
  r.person_ids =
    ids_of(db.query(text, {int64_t{from_camera}, int64_t{to_camera}, t0, t1, max_transit_ms}, "query: transitions"));
  r.people = static_cast<int64_t>(r.person_ids.size());
  return r;
}

every_camera_result people_on_every_camera(sql::database& db, const std::vector<uint32_t>& cameras,
                                           timestamp_ms day_start_ms) {
  every_camera_result r;
  r.cameras = cameras;
  std::sort(r.cameras.begin(), r.cameras.end());
  r.cameras.erase(std::unique(r.cameras.begin(), r.cameras.end()), r.cameras.end());
  r.day_start_ms = day_start_ms;
  if (r.cameras.empty()) return r;
  // The seed's sketch counted rows per camera in correlated subqueries and
  // did not run; one pass grouping by person does the same. Only the
  // placeholders are generated here; every value is bound.
  const std::string text =
    "SELECT person_id FROM people_present "
    "WHERE enter >= ?1 AND enter < ?2 AND camera_id IN (" + sql::placeholder_list(4, r.cameras.size()) + ") "
    "GROUP BY person_id HAVING count(DISTINCT camera_id) = ?3 "
    "ORDER BY person_id";
  std::vector<sql::value> params{day_start_ms, day_start_ms + ms_per_day, static_cast<int64_t>(r.cameras.size())};
  // Built in place: GCC 12 warns (falsely) that moving a temporary value in
  // may read an uninitialised string alternative.
  params.reserve(params.size() + r.cameras.size());
  for (auto c : r.cameras) params.emplace_back(std::in_place_type<int64_t>, c);
  r.person_ids = ids_of(db.query(text, params, "query: every camera"));
  r.people = static_cast<int64_t>(r.person_ids.size());
  return r;
}

nlohmann::json to_json(const transition_result& r) {
  return {{"from", r.from}, {"to", r.to}, {"people", r.people}, {"person_ids", r.person_ids}};
}

nlohmann::json to_json(const every_camera_result& r) {
  std::time_t secs = static_cast<std::time_t>(r.day_start_ms / 1000);
  std::tm tm{};
  char day[32] = "";
  if (gmtime_r(&secs, &tm)) std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
  return {{"cameras", r.cameras},
          {"day_start_ms", r.day_start_ms},
          {"day", day},
          {"people", r.people},
          {"person_ids", r.person_ids}};
}

timestamp_ms utc_day_start(timestamp_ms t) {
  timestamp_ms rem = t % ms_per_day;
  return t - (rem < 0 ? rem + ms_per_day : rem);
}

} // namespace weaver
