#include "actors/query/analytics.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "actors/query/seed_queries.hpp"
#include "base/iso8601.hpp"

namespace weaver {

using nlohmann::json;
using sql::as_int;

namespace {

struct interval {
  uint64_t who = 0; // person, or a zone visit's (camera, track)
  timestamp_ms enter = 0, exit = 0;
};

// Intervals of a place overlapping [t0, t1), by who then enter. Open zone
// visits (exit < 0) last until t1.
std::vector<interval> intervals(sql::database& db, const place& where, timestamp_ms t0, timestamp_ms t1,
                                int64_t max_stay_ms) {
  std::vector<interval> out;
  if (where.camera) {
    for (auto& r : db.query("SELECT person_id, enter, exit FROM people_present "
                            "WHERE camera_id = ?1 AND enter >= ?2 AND enter < ?3 AND exit >= ?4 "
                            "ORDER BY person_id, enter",
                            {int64_t{*where.camera}, t0 - max_stay_ms, t1, t0}, "query: occupancy"))
      out.push_back({static_cast<uint64_t>(as_int(r[0])), as_int(r[1]), as_int(r[2])});
  } else {
    for (auto& r : db.query("SELECT camera_id, track_id, enter, exit FROM zone_visits "
                            "WHERE zone = ?1 AND enter >= ?2 AND enter < ?3 AND (exit < 0 OR exit >= ?4) "
                            "ORDER BY camera_id, track_id, enter",
                            {where.zone, t0 - max_stay_ms, t1, t0}, "query: zone occupancy")) {
      auto exit = as_int(r[3]);
      out.push_back({(static_cast<uint64_t>(as_int(r[0])) << 40) ^ static_cast<uint64_t>(as_int(r[1])), as_int(r[2]),
                     exit < 0 ? t1 : exit});
    }
  }
  return out;
}

json place_json(const place& where) {
  if (where.camera) return {{"camera", *where.camera}};
  return {{"zone", where.zone}};
}

double percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]) / 1000.0;
}

} // namespace

json occupancy(sql::database& db, const place& where, timestamp_ms t0, timestamp_ms t1, int64_t step_ms,
               int64_t max_stay_ms) {
  const size_t steps = t1 > t0 ? static_cast<size_t>((t1 - t0 + step_ms - 1) / step_ms) : 0;
  std::vector<int64_t> people(steps, 0);
  uint64_t last_who = 0;
  int64_t last_step = -1; // the last step this person was counted in
  bool first = true;
  for (const auto& iv : intervals(db, where, t0, t1, max_stay_ms)) {
    if (first || iv.who != last_who) last_step = -1;
    first = false;
    last_who = iv.who;
    // Steps overlapped by [enter, exit]: a stay touching a step counts in it.
    int64_t a = (std::max(iv.enter, t0) - t0) / step_ms;
    int64_t b = (std::min(iv.exit, t1 - 1) - t0) / step_ms;
    for (int64_t s = std::max(a, last_step + 1); s <= b; ++s) ++people[static_cast<size_t>(s)];
    last_step = std::max(last_step, b);
  }
  json series = json::array();
  int64_t peak = 0;
  for (size_t i = 0; i < steps; ++i) {
    series.push_back({{"t", format_iso8601(t0 + static_cast<int64_t>(i) * step_ms)}, {"people", people[i]}});
    peak = std::max(peak, people[i]);
  }
  json out = place_json(where);
  out["step_s"] = static_cast<double>(step_ms) / 1000.0;
  out["series"] = std::move(series);
  out["peak"] = peak;
  return out;
}

json dwell(sql::database& db, const place& where, timestamp_ms t0, timestamp_ms t1, int64_t bucket_ms) {
  std::vector<int64_t> stays;
  const auto rows = where.camera ? db.query(
                      "SELECT enter, exit FROM people_present "
                      "WHERE camera_id = ?1 AND enter >= ?2 AND enter < ?3",
                      {int64_t{*where.camera}, t0, t1}, "query: dwell")
                                 : db.query(
                                   "SELECT enter, exit FROM zone_visits "
                                   "WHERE zone = ?1 AND enter >= ?2 AND enter < ?3 AND exit >= 0",
                                   {where.zone, t0, t1}, "query: zone dwell");
  for (auto& r : rows) stays.push_back(std::max<int64_t>(0, as_int(r[1]) - as_int(r[0])));
  std::sort(stays.begin(), stays.end());
  std::map<int64_t, int64_t> hist;
  double sum = 0;
  for (auto d : stays) {
    ++hist[d / bucket_ms];
    sum += static_cast<double>(d);
  }
  json buckets = json::array();
  for (auto& [b, n] : hist)
    buckets.push_back({{"from_s", static_cast<double>(b * bucket_ms) / 1000.0},
                       {"to_s", static_cast<double>((b + 1) * bucket_ms) / 1000.0},
                       {"count", n}});
  json out = place_json(where);
  out["count"] = stays.size();
  out["mean_s"] = stays.empty() ? 0.0 : sum / static_cast<double>(stays.size()) / 1000.0;
  out["p50_s"] = percentile(stays, 0.5);
  out["p90_s"] = percentile(stays, 0.9);
  out["max_s"] = stays.empty() ? 0.0 : static_cast<double>(stays.back()) / 1000.0;
  out["buckets"] = std::move(buckets);
  return out;
}

json top_paths(sql::database& db, timestamp_ms t0, timestamp_ms t1, size_t top, size_t min_length) {
  std::map<std::vector<uint32_t>, int64_t> counts;
  std::vector<uint32_t> path;
  uint64_t who = 0;
  bool any = false;
  int64_t people = 0;
  auto flush = [&] {
    if (any && path.size() >= min_length) ++counts[path];
    path.clear();
  };
  for (auto& r : db.query("SELECT person_id, camera_id FROM people_present "
                          "WHERE enter >= ?1 AND enter < ?2 ORDER BY person_id, enter, camera_id",
                          {t0, t1}, "query: paths")) {
    auto p = static_cast<uint64_t>(as_int(r[0]));
    auto c = static_cast<uint32_t>(as_int(r[1]));
    if (!any || p != who) {
      flush();
      who = p;
      any = true;
      ++people;
    }
    if (path.empty() || path.back() != c) path.push_back(c);
  }
  flush();
  std::vector<std::pair<std::vector<uint32_t>, int64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.second > b.second; });
  if (ranked.size() > top) ranked.resize(top);
  json list = json::array();
  for (auto& [cams, n] : ranked) list.push_back({{"cameras", cams}, {"people", n}});
  return {{"paths", std::move(list)}, {"people", people}};
}

json funnel(sql::database& db, const std::vector<uint32_t>& steps, timestamp_ms t0, timestamp_ms t1,
            int64_t max_step_ms) {
  std::vector<int64_t> reached(steps.size(), 0);
  if (!steps.empty()) {
    // Candidates: people entering the first step in the window; then each
    // one's presences on the funnel's cameras from that time on.
    std::vector<sql::value> params{int64_t{steps[0]}, t0, t1};
    const std::set<uint32_t> distinct(steps.begin(), steps.end());
    for (auto c : distinct) params.push_back(int64_t{c});
    auto rows = db.query("SELECT p.person_id, p.camera_id, p.enter, p.exit FROM people_present AS p "
                         "WHERE p.person_id IN (SELECT person_id FROM people_present "
                         "WHERE camera_id = ?1 AND enter >= ?2 AND enter < ?3) AND p.enter >= ?2 "
                         "AND p.camera_id IN (" + sql::placeholder_list(4, distinct.size()) + ") "
                         "ORDER BY p.person_id, p.enter",
                         params, "query: funnel");
    struct stay {
      uint32_t camera;
      timestamp_ms enter, exit;
    };
    // Deepest step a chain starting at presence i (on steps[k]) reaches.
    auto depth_of = [&](const std::vector<stay>& v) {
      size_t best = 0;
      // best_end[k]: chains reaching step k, keyed by their last presence.
      std::vector<std::vector<size_t>> at(steps.size());
      for (size_t i = 0; i < v.size(); ++i)
        if (v[i].camera == steps[0] && v[i].enter < t1) at[0].push_back(i);
      if (!at[0].empty()) best = 1;
      for (size_t k = 1; k < steps.size() && !at[k - 1].empty(); ++k) {
        std::set<size_t> next;
        for (size_t i : at[k - 1])
          for (size_t j = 0; j < v.size(); ++j)
            if (j != i && v[j].camera == steps[k] && v[j].enter >= v[i].enter
                && (max_step_ms < 0 || v[j].enter - v[i].exit <= max_step_ms))
              next.insert(j);
        at[k].assign(next.begin(), next.end());
        if (!at[k].empty()) best = k + 1;
      }
      return best;
    };
    std::vector<stay> mine;
    for (size_t i = 0; i <= rows.size(); ++i) {
      if (i == rows.size() || (!mine.empty() && i > 0 && as_int(rows[i][0]) != as_int(rows[i - 1][0]))) {
        auto d = depth_of(mine);
        for (size_t k = 0; k < d; ++k) ++reached[k];
        mine.clear();
      }
      if (i < rows.size())
        mine.push_back({static_cast<uint32_t>(as_int(rows[i][1])), as_int(rows[i][2]), as_int(rows[i][3])});
    }
  }
  json list = json::array();
  for (size_t k = 0; k < steps.size(); ++k) list.push_back({{"camera", steps[k]}, {"people", reached[k]}});
  return {{"steps", std::move(list)}};
}

json trajectory(sql::database& db, uint64_t person, timestamp_ms t0, timestamp_ms t1) {
  json presences = json::array(), zones = json::array();
  const auto pid = static_cast<int64_t>(person);
  // The camera-local track behind each presence (its tracklet: same camera
  // and interval), for its evidence crop; null for rows without one.
  for (auto& r : db.query("SELECT p.camera_id, p.enter, p.exit, "
                          "(SELECT min(t.track_id) FROM tracklets AS t WHERE t.camera_id = p.camera_id "
                          "AND t.enter = p.enter AND t.exit = p.exit) FROM people_present AS p "
                          "WHERE p.person_id = ?1 AND p.enter >= ?2 AND p.enter < ?3 ORDER BY p.enter, p.camera_id",
                          {pid, t0, t1}, "query: trajectory"))
    presences.push_back({{"camera", as_int(r[0])},
                         {"enter", format_iso8601(as_int(r[1]))},
                         {"exit", format_iso8601(as_int(r[2]))},
                         {"dwell_s", static_cast<double>(as_int(r[2]) - as_int(r[1])) / 1000.0},
                         {"track", sql::is_null(r[3]) ? nlohmann::json(nullptr) : nlohmann::json(as_int(r[3]))}});
  for (auto& r : db.query("SELECT v.camera_id, v.zone, v.enter, v.exit FROM zone_visits AS v "
                          "JOIN identities AS i ON i.camera_id = v.camera_id AND i.track_id = v.track_id "
                          "WHERE i.person_id = ?1 AND v.enter >= ?2 AND v.enter < ?3 ORDER BY v.enter, v.zone",
                          {pid, t0, t1}, "query: trajectory zones")) {
    auto exit = as_int(r[3]);
    zones.push_back({{"camera", as_int(r[0])},
                     {"zone", sql::as_text(r[1])},
                     {"enter", format_iso8601(as_int(r[2]))},
                     {"exit", exit < 0 ? json(nullptr) : json(format_iso8601(exit))}});
  }
  return {{"person", person}, {"presences", std::move(presences)}, {"zones", std::move(zones)}};
}

json visitors(sql::database& db, timestamp_ms t0, timestamp_ms t1, bool by_hour, std::optional<uint32_t> camera) {
  const int64_t width = by_hour ? 3'600'000 : ms_per_day;
  const timestamp_ms start = t0 - (((t0 % width) + width) % width);
  std::string where = "enter >= ?1 AND enter < ?2";
  std::vector<sql::value> params{start, t1};
  if (camera) {
    where += " AND camera_id = ?3";
    params.push_back(int64_t{*camera});
  }
  json buckets = json::array();
  std::vector<sql::value> grouped = params;
  grouped.push_back(width);
  const std::string w = "?" + std::to_string(grouped.size());
  for (auto& r : db.query("SELECT (enter - ?1) / " + w + " AS b, count(DISTINCT person_id) FROM people_present WHERE "
                            + where + " GROUP BY b ORDER BY b",
                          grouped, "query: visitors"))
    buckets.push_back({{"t", format_iso8601(start + as_int(r[0]) * width)}, {"people", as_int(r[1])}});
  auto total = as_int(
    db.scalar("SELECT count(DISTINCT person_id) FROM people_present WHERE " + where, params, "query: visitors total"));
  json out{{"bucket", by_hour ? "hour" : "day"}, {"buckets", std::move(buckets)}, {"people", total}};
  if (camera) out["camera"] = *camera;
  return out;
}

json cameras(sql::database& db) {
  std::map<int64_t, json> by_id;
  for (auto& r : db.query("SELECT camera_id, name, zone FROM cameras ORDER BY camera_id", {}, "query: cameras"))
    by_id[as_int(r[0])] = {
      {"id", as_int(r[0])}, {"name", sql::as_text(r[1])}, {"department", sql::as_text(r[2])}, {"zones", json::array()}};
  for (auto& r : db.query("SELECT camera_id, name FROM zones ORDER BY camera_id, name", {}, "query: zones")) {
    auto& cam = by_id[as_int(r[0])];
    if (cam.is_null()) cam = {{"id", as_int(r[0])}, {"name", ""}, {"department", ""}, {"zones", json::array()}};
    cam["zones"].push_back(sql::as_text(r[1]));
  }
  json list = json::array();
  for (auto& [id, c] : by_id) list.push_back(std::move(c));
  return {{"cameras", std::move(list)}};
}

json events(sql::database& db, int64_t since_id, const std::string& kind, timestamp_ms t0, timestamp_ms t1,
            size_t offset, size_t limit) {
  std::string where = "e.id > ?1 AND e.time_ms >= ?2 AND e.time_ms < ?3";
  std::vector<sql::value> params{since_id, t0, t1};
  if (!kind.empty()) {
    where += " AND e.kind = ?4";
    params.push_back(kind);
  }
  const auto total = static_cast<size_t>(
    as_int(db.scalar("SELECT count(*) FROM events AS e WHERE " + where, params, "query: events count")));
  // An alert raised before re-id named its track gets the person now, from
  // the track's identity (kept canonical by merges).
  std::vector<sql::value> paged = params;
  const std::string lim = "?" + std::to_string(paged.size() + 1), off = "?" + std::to_string(paged.size() + 2);
  paged.push_back(static_cast<int64_t>(limit));
  paged.push_back(static_cast<int64_t>(offset));
  json list = json::array();
  int64_t last = since_id;
  for (auto& r : db.query("SELECT e.id, e.kind, e.camera_id, e.zone, coalesce(e.person_id, i.person_id), e.track_id, "
                          "e.time_ms, e.detail FROM events AS e "
                          "LEFT JOIN identities AS i ON i.camera_id = e.camera_id AND i.track_id = e.track_id "
                          "WHERE "
                            + where + " ORDER BY e.id LIMIT " + lim + " OFFSET " + off,
                          paged, "query: events")) {
    json detail = json::parse(sql::as_text(r[7]), nullptr, false);
    list.push_back({{"id", as_int(r[0])},
                    {"kind", sql::as_text(r[1])},
                    {"camera", as_int(r[2])},
                    {"zone", sql::as_text(r[3])},
                    {"person", sql::is_null(r[4]) ? json(nullptr) : json(as_int(r[4]))},
                    {"track", sql::is_null(r[5]) ? json(nullptr) : json(as_int(r[5]))},
                    {"time", format_iso8601(as_int(r[6]))},
                    {"detail", detail.is_discarded() ? json::object() : detail}});
    last = as_int(r[0]);
  }
  return {{"events", std::move(list)},
          {"total", total},
          {"offset", offset},
          {"limit", limit},
          {"next_offset", offset + limit < total ? json(offset + limit) : json(nullptr)},
          {"last_id", last},
          {"newest_id", as_int(db.scalar("SELECT max(id) FROM events", {}, "query: newest event"), 0)}};
}

void paginate(json& answer, const std::string& key, size_t offset, size_t limit) {
  auto& list = answer[key];
  const size_t total = list.size();
  json page = json::array();
  for (size_t i = offset; i < total && i < offset + limit; ++i) page.push_back(std::move(list[i]));
  list = std::move(page);
  answer["total"] = total;
  answer["offset"] = offset;
  answer["limit"] = limit;
  answer["next_offset"] = offset + limit < total ? json(offset + limit) : json(nullptr);
}

} // namespace weaver
