#include "actors/query/query_actor.hpp"

#include <chrono>
#include <limits>
#include <optional>
#include <sstream>

#include "actors/query/analytics.hpp"
#include "actors/query/query_params.hpp"
#include "actors/query/seed_queries.hpp"
#include "actors/storage/pictures.hpp"
#include "base/base64.hpp"
#include "base/iso8601.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"

namespace weaver {

namespace {

struct bad_param : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr timestamp_ms no_start = std::numeric_limits<int64_t>::min() / 4;
constexpr timestamp_ms no_end = std::numeric_limits<int64_t>::max() / 4;

const std::string* find(const query_request& r, const std::string& key) {
  for (auto& [k, v] : r.params)
    if (k == key) return &v;
  return nullptr;
}

int64_t parse_int(const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    auto x = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument("trailing");
    return x;
  } catch (const std::exception&) {
    throw bad_param(key + ": expected an integer, got '" + v + "'");
  }
}

// Within the parameter's bounds (query_params.hpp), as the gateway states them.
int64_t int_param(const query_request& r, const std::string& key, std::optional<int64_t> fallback) {
  auto v = find(r, key);
  if (!v) {
    if (fallback) return *fallback;
    throw bad_param(key + ": required");
  }
  auto x = parse_int(key, *v);
  const auto& b = query_int_param(key);
  if (x < b.min || (b.max && x > *b.max))
    throw bad_param(key + ": " + std::to_string(x) + " is out of range [" + std::to_string(b.min) + ", "
                    + (b.max ? std::to_string(*b.max) + "]" : "...)"));
  return x;
}

timestamp_ms time_param(const query_request& r, const std::string& key, std::optional<timestamp_ms> fallback) {
  auto v = find(r, key);
  if (!v) {
    if (fallback) return *fallback;
    throw bad_param(key + ": required (an ISO-8601 time)");
  }
  if (auto t = parse_iso8601(*v)) return *t;
  throw bad_param(key + ": expected an ISO-8601 time, got '" + *v + "'");
}

std::vector<uint32_t> camera_list(const query_request& r, const std::string& key) {
  auto list = find(r, key);
  if (!list || list->empty()) throw bad_param(key + ": required (comma-separated camera ids)");
  std::vector<uint32_t> cams;
  std::stringstream ss{*list};
  for (std::string item; std::getline(ss, item, ',');) {
    auto c = parse_int(key, item);
    if (c < query_int_param("camera").min || c > *query_int_param("camera").max)
      throw bad_param(key + ": bad camera id '" + item + "'");
    cams.push_back(static_cast<uint32_t>(c));
  }
  return cams;
}

uint32_t camera_param(const query_request& r, const std::string& key) {
  return static_cast<uint32_t>(int_param(r, key, std::nullopt));
}

place place_param(const query_request& r) {
  place p;
  bool cam = find(r, "camera"), zone = find(r, "zone");
  if (cam == zone) throw bad_param(cam ? "zone: give camera or zone, not both" : "camera: camera or zone required");
  if (cam)
    p.camera = camera_param(r, "camera");
  else
    p.zone = *find(r, "zone");
  return p;
}

void check_range(timestamp_ms t0, timestamp_ms t1) {
  if (t1 <= t0) throw bad_param("t1: must be after t0");
}

// Steps of a time series or histogram: at least 1 s and at most 10000 steps.
int64_t step_param(const query_request& r, const std::string& key, int64_t fallback_s, timestamp_ms span) {
  auto s = int_param(r, key, fallback_s);
  if (span > 0 && span / (s * 1000) > 10000)
    throw bad_param(key + ": " + std::to_string(s) + " s gives more than 10000 steps over the range");
  return s * 1000;
}

// One query's answer. A list answer names its array in `list_key` for the
// caller to page, unless it paged in SQL itself (events) with offset / limit.
nlohmann::json answer(sql::database& db, const query_request& req, const query_settings& cfg, size_t offset,
                      size_t limit, std::string& list_key,
                      std::optional<std::pair<timestamp_ms, timestamp_ms>>& window) {
  const auto& n = req.name;
  if (n == "transitions") {
    auto from = camera_param(req, "from"), to = camera_param(req, "to");
    auto t0 = time_param(req, "t0", no_start), t1 = time_param(req, "t1", no_end);
    auto mt =
      find(req, "max_transit_s") ? int_param(req, "max_transit_s", std::nullopt) * 1000 : cfg.default_max_transit_ms;
    if (mt < 0) mt = -1;
    list_key = "person_ids";
    window = {t0, t1};
    auto j = to_json(count_transitions(db, from, to, t0, t1, mt));
    j["max_transit_s"] = mt < 0 ? nlohmann::json(nullptr) : nlohmann::json(static_cast<double>(mt) / 1000.0);
    return j;
  }
  if (n == "every_camera") {
    auto cams = camera_list(req, "cameras");
    auto day = find(req, "day");
    if (!day) throw bad_param("day: required (YYYY-MM-DD)");
    auto t = parse_iso8601(*day);
    if (!t) throw bad_param("day: expected YYYY-MM-DD, got '" + *day + "'");
    list_key = "person_ids";
    window = {utc_day_start(*t), utc_day_start(*t) + 86'400'000};
    return to_json(people_on_every_camera(db, cams, utc_day_start(*t)));
  }
  if (n == "occupancy") {
    auto where = place_param(req);
    auto t0 = time_param(req, "t0", std::nullopt), t1 = time_param(req, "t1", std::nullopt);
    check_range(t0, t1);
    list_key = "series";
    window = {t0, t1};
    return occupancy(db, where, t0, t1, step_param(req, "step_s", 300, t1 - t0), cfg.max_stay_ms);
  }
  if (n == "dwell") {
    auto where = place_param(req);
    auto t0 = time_param(req, "t0", std::nullopt), t1 = time_param(req, "t1", std::nullopt);
    check_range(t0, t1);
    window = {t0, t1};
    return dwell(db, where, t0, t1, step_param(req, "bucket_s", 60, 0));
  }
  if (n == "paths") {
    auto t0 = time_param(req, "t0", std::nullopt), t1 = time_param(req, "t1", std::nullopt);
    check_range(t0, t1);
    auto top = int_param(req, "top", 10);
    auto min_length = int_param(req, "min_length", 2);
    list_key = "paths";
    window = {t0, t1};
    return top_paths(db, t0, t1, static_cast<size_t>(top), static_cast<size_t>(min_length));
  }
  if (n == "funnel") {
    auto steps = camera_list(req, "steps");
    if (steps.size() > 16) throw bad_param("steps: at most 16");
    auto t0 = time_param(req, "t0", std::nullopt), t1 = time_param(req, "t1", std::nullopt);
    check_range(t0, t1);
    auto ms = find(req, "max_step_s") ? int_param(req, "max_step_s", std::nullopt) * 1000 : -1;
    window = {t0, t1};
    return funnel(db, steps, t0, t1, ms);
  }
  if (n == "trajectory") {
    auto person = int_param(req, "person", std::nullopt);
    auto t0 = time_param(req, "t0", no_start), t1 = time_param(req, "t1", no_end);
    list_key = "presences";
    window = {t0, t1};
    return trajectory(db, static_cast<uint64_t>(person), t0, t1);
  }
  if (n == "visitors") {
    auto t0 = time_param(req, "t0", std::nullopt), t1 = time_param(req, "t1", std::nullopt);
    check_range(t0, t1);
    std::string bucket = find(req, "bucket") ? *find(req, "bucket") : "day";
    if (bucket != "day" && bucket != "hour") throw bad_param("bucket: expected day or hour, got '" + bucket + "'");
    if (bucket == "hour" && (t1 - t0) / 3'600'000 > 10000) throw bad_param("t1: more than 10000 hours after t0");
    std::optional<uint32_t> cam;
    if (find(req, "camera")) cam = camera_param(req, "camera");
    list_key = "buckets";
    window = {t0, t1};
    return visitors(db, t0, t1, bucket == "hour", cam);
  }
  if (n == "cameras") {
    list_key = "cameras";
    return cameras(db);
  }
  if (n == "events") {
    auto since = int_param(req, "since_id", 0);
    std::string kind = find(req, "kind") ? *find(req, "kind") : "";
    if (!kind.empty() && !known_alert_kind(kind)) {
      const auto& k = alert_kinds();
      std::string known;
      for (size_t i = 0; i < k.size(); ++i) known += (i == 0 ? "" : i + 1 == k.size() ? " or " : ", ") + k[i];
      throw bad_param("kind: expected " + known + ", got '" + kind + "'");
    }
    // Paged in SQL: the one list that grows without a time window.
    return events(db, since, kind, time_param(req, "t0", no_start), time_param(req, "t1", no_end), offset, limit);
  }
  if (n == "evidence") {
    // A track's evidence crop (GET /v1/evidence/{camera}/{track}.jpg), as
    // base64; null when there is none.
    auto camera = camera_param(req, "camera");
    auto track = int_param(req, "track", std::nullopt);
    if (track < 0) throw bad_param("track: must be >= 0");
    nlohmann::json j{{"camera", camera}, {"track", track}, {"jpeg", nullptr}};
    if (auto bytes = pictures::crop(db, camera, static_cast<uint64_t>(track)))
      j["jpeg"] = to_base64(std::vector<int8_t>(bytes->begin(), bytes->end()));
    return j;
  }
  if (n == "live") {
    // A camera's latest live frame that storage keeps from the mesh (for the
    // gateway's snapshot routes when the camera runs in another process):
    // its numbers, boxes, JPEG as base64 and when storage kept it (kept_ms,
    // for the picture's age); null jpeg when there is none.
    auto camera = camera_param(req, "camera");
    nlohmann::json j{{"camera", camera}, {"jpeg", nullptr}};
    if (auto k = pictures::live(db, camera)) j = live_frame_to_json(k->frame, k->kept_ms);
    return j;
  }
  std::string known;
  for (auto& q : query_names()) known += (known.empty() ? "" : ", ") + q;
  throw bad_param("query: unknown query '" + n + "' (known: " + known + ")");
}

} // namespace

nlohmann::json resolution_status(sql::database& db, timestamp_ms t0, timestamp_ms t1) {
  // The asked window, clipped to the stored tracklets, lies within the union
  // of the windows the offline pass resolved (see actors/reid/resolve_pass).
  auto span = db.query("SELECT min(exit), max(exit) FROM tracklets", {}, "query: tracklet span");
  auto until = db.scalar("SELECT max(until) FROM resolved_windows", {}, "query: resolved until");
  nlohmann::json j{
    {"resolved", false},
    {"resolved_until",
     sql::is_null(until) ? nlohmann::json(nullptr) : nlohmann::json(format_iso8601(sql::as_int(until)))}};
  if (span.empty() || sql::is_null(span[0][0]) || sql::is_null(until)) return j;
  const timestamp_ms from = std::max(t0, sql::as_int(span[0][0])), to = std::min(t1, sql::as_int(span[0][1]) + 1);
  if (to <= from) { // no tracklet in the window: nothing online to correct
    j["resolved"] = true;
    return j;
  }
  timestamp_ms covered = from;
  for (auto& r : db.query("SELECT since, until FROM resolved_windows WHERE until > ?1 AND since < ?2 ORDER BY since",
                          {from, to}, "query: resolved windows")) {
    if (sql::as_int(r[0]) > covered) break;
    covered = std::max(covered, sql::as_int(r[1]));
  }
  j["resolved"] = covered >= to;
  return j;
}

const std::vector<std::string>& query_names() {
  static const std::vector<std::string> names{"transitions", "every_camera", "occupancy", "dwell",   "paths",
                                              "funnel",      "trajectory",   "visitors",  "cameras", "events"};
  return names;
}

query_response answer_query(sql::database& db, const query_request& req, const query_settings& settings) {
  query_response resp;
  resp.id = req.id;
  try {
    // Validated before the query runs, so a bad page never costs a scan.
    const auto offset = static_cast<size_t>(int_param(req, "offset", 0));
    const auto limit = static_cast<size_t>(int_param(req, "limit", default_page));
    std::string list_key;
    std::optional<std::pair<timestamp_ms, timestamp_ms>> window;
    auto j = answer(db, req, settings, offset, limit, list_key, window);
    if (!list_key.empty()) paginate(j, list_key, offset, limit);
    // Whether the offline pass has corrected this window yet (else the
    // answer rests on re-id's online decisions alone).
    if (window && j.is_object()) j.update(resolution_status(db, window->first, window->second));
    resp.json = j.dump();
    resp.ok = true;
  } catch (const bad_param& e) {
    resp.ok = false;
    resp.bad_request = true;
    resp.error = e.what();
  } catch (const std::exception& e) {
    resp.ok = false;
    resp.error = e.what();
  }
  return resp;
}

namespace {

// Runs the standing queries once; logs and counts what they raise.
void run_alerts(query_state& st) {
  static const logger log{"alerts"};
  if (!st.rules) return;
  try {
    for (auto& e : st.rules->evaluate(*st.db)) {
      metrics::global().alerts(e.kind).Increment();
      log.info(e.kind + " in zone '" + e.zone + "' on camera " + std::to_string(e.camera_id) + " at "
               + format_iso8601(e.time_ms) + ": " + e.detail);
    }
  } catch (const std::exception& e) {
    log.error(e.what());
    metrics::global().query_errors("alerts", "internal").Increment();
  }
}

} // namespace

query_actor::behavior_type query_actor_impl(query_actor::stateful_pointer<query_state> self, std::shared_ptr<store> db,
                                            query_settings settings) {
  self->state.db = std::move(db);
  self->state.settings = settings;
  if (!settings.alerts.empty()) {
    self->state.rules = std::make_unique<standing_queries>(settings.alerts);
    self->send(self, tick_atom::value);
  }
  return {
    [=](const query_request& req) {
      auto t0 = std::chrono::steady_clock::now();
      auto resp = answer_query(self->state.db->db(), req, self->state.settings);
      auto& m = metrics::global();
      m.queries(req.name).Increment();
      m.query_latency(req.name).Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (!resp.ok) m.query_errors(req.name, resp.bad_request ? "bad_request" : "internal").Increment();
      return resp;
    },
    [=](flush_atom) {
      run_alerts(self->state);
      return caf::ok_atom::value;
    },
    [=](tick_atom) {
      run_alerts(self->state);
      self->delayed_send(self, self->state.settings.alert_every, tick_atom::value);
    }};
}

} // namespace weaver
