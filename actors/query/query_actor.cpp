#include "actors/query/query_actor.hpp"

#include <chrono>

#include "services/metrics.hpp"

#include <limits>
#include <sstream>

#include "actors/query/seed_queries.hpp"
#include "services/iso8601.hpp"

namespace weaver {

namespace {

struct bad_param : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const std::string* find(const query_request& r, const std::string& key) {
  for (auto& [k, v] : r.params)
    if (k == key) return &v;
  return nullptr;
}

int64_t int_param(const query_request& r, const std::string& key, std::optional<int64_t> fallback) {
  auto v = find(r, key);
  if (!v) {
    if (fallback) return *fallback;
    throw bad_param(key + ": required");
  }
  try {
    size_t used = 0;
    auto x = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return x;
  } catch (const std::exception&) {
    throw bad_param(key + ": expected an integer, got '" + *v + "'");
  }
}

timestamp_ms time_param(const query_request& r, const std::string& key, timestamp_ms fallback) {
  auto v = find(r, key);
  if (!v) return fallback;
  if (auto t = parse_iso8601(*v)) return *t;
  throw bad_param(key + ": expected an ISO-8601 time, got '" + *v + "'");
}

} // namespace

query_response answer_query(sqlite3* db, const query_request& req, int64_t default_max_transit_ms) {
  query_response resp;
  resp.id = req.id;
  try {
    if (req.name == "transitions") {
      auto from = int_param(req, "from", std::nullopt);
      auto to = int_param(req, "to", std::nullopt);
      auto t0 = time_param(req, "t0", std::numeric_limits<int64_t>::min() / 2);
      auto t1 = time_param(req, "t1", std::numeric_limits<int64_t>::max() / 2);
      auto mt = find(req, "max_transit_s") ? int_param(req, "max_transit_s", std::nullopt) * 1000
                                            : default_max_transit_ms;
      auto res = count_transitions(db, static_cast<uint32_t>(from), static_cast<uint32_t>(to), t0, t1, mt);
      resp.json = to_json(res).dump();
    } else if (req.name == "every_camera") {
      auto list = find(req, "cameras");
      if (!list) throw bad_param("cameras: required (comma-separated camera ids)");
      std::vector<uint32_t> cams;
      std::stringstream ss{*list};
      for (std::string item; std::getline(ss, item, ',');) {
        query_request one{0, "", {{"cameras", item}}};
        cams.push_back(static_cast<uint32_t>(int_param(one, "cameras", std::nullopt)));
      }
      auto day = find(req, "day");
      if (!day) throw bad_param("day: required (YYYY-MM-DD)");
      auto t = parse_iso8601(*day);
      if (!t) throw bad_param("day: expected YYYY-MM-DD, got '" + *day + "'");
      resp.json = to_json(people_on_every_camera(db, cams, utc_day_start(*t))).dump();
    } else {
      throw bad_param("unknown query '" + req.name + "' (known: transitions, every_camera)");
    }
    resp.ok = true;
  } catch (const std::exception& e) {
    resp.ok = false;
    resp.error = e.what();
  }
  return resp;
}

query_actor::behavior_type query_actor_impl(query_actor::stateful_pointer<query_state> self,
                                            std::string db_path, int64_t default_max_transit_ms) {
  self->state.store = std::make_unique<sqlite_store>(db_path);
  self->state.default_max_transit_ms = default_max_transit_ms;
  return {[=](const query_request& req) {
    auto t0 = std::chrono::steady_clock::now();
    auto resp = answer_query(self->state.store->handle(), req, self->state.default_max_transit_ms);
    auto& m = metrics::global();
    m.queries(req.name).Increment();
    m.query_latency(req.name)
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!resp.ok) m.query_errors(req.name, "bad_request").Increment();
    return resp;
  }};
}

} // namespace weaver
