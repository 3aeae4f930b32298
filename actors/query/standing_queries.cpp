#include "actors/query/standing_queries.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/iso8601.hpp"

namespace weaver {

using sql::as_int;

const std::vector<std::string>& alert_kinds() {
  static const std::vector<std::string> kinds{"loitering", "crowding", "restricted_entry"};
  return kinds;
}

bool known_alert_kind(const std::string& kind) {
  const auto& k = alert_kinds();
  return std::find(k.begin(), k.end(), kind) != k.end();
}

void validate(const alert_rule& r) {
  if (!known_alert_kind(r.kind)) {
    std::string known;
    for (const auto& k : alert_kinds()) known += (known.empty() ? "" : ", ") + k;
    throw std::invalid_argument("kind: '" + r.kind + "' (known: " + known + ")");
  }
  if (r.zone.empty()) throw std::invalid_argument("zone: required");
  if (r.kind == "loitering" && r.dwell_ms <= 0) throw std::invalid_argument("dwell_s: must be > 0");
  if (r.kind == "crowding" && r.max_people < 0) throw std::invalid_argument("max_people: must be >= 0");
}

standing_queries::standing_queries(std::vector<alert_rule> rules, int64_t lookback_ms)
  : rules_(std::move(rules)), crowded_(rules_.size(), false), lookback_ms_(lookback_ms) {
  for (auto& r : rules_) {
    validate(r);
    max_dwell_ms_ = std::max(max_dwell_ms_, r.dwell_ms);
  }
}

std::vector<event_row> standing_queries::evaluate(store& st) {
  std::vector<event_row> raised;
  if (rules_.empty()) return raised;
  auto& db = st.db();
  // Data time: the newest zone entry or exit; one subquery each, so each
  // reads the end of its index rather than the whole table.
  auto wm = db.query("SELECT (SELECT max(enter) FROM zone_visits), (SELECT max(exit) FROM zone_visits)", {},
                     "alerts: watermark");
  if (wm.empty() || sql::is_null(wm[0][0])) return raised;
  const timestamp_ms now = std::max(as_int(wm[0][0]), as_int(wm[0][1], 0));
  // Alerts already stored (by us or an earlier evaluator) are skipped here
  // rather than re-sent to the store on every evaluation.
  for (auto it = stored_.begin(); it != stored_.end();)
    it = it->second < now - 2 * lookback_ms_ - max_dwell_ms_ ? stored_.erase(it) : std::next(it);
  auto add = [&](event_row e) {
    if (!stored_.emplace(e.dedup, e.time_ms).second) return;
    if (auto id = st.add_event(e)) {
      e.id = *id;
      raised.push_back(std::move(e));
    }
  };
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    const int64_t cam = r.camera ? int64_t{*r.camera} : -1;
    // Visits of the rule's zone (and camera) entering after `since`, with
    // the person of their track when re-id has named one.
    auto visits = [&](timestamp_ms since, const std::string& extra, std::vector<sql::value> params) {
      std::vector<sql::value> p{r.zone, since, cam};
      p.insert(p.end(), params.begin(), params.end());
      return db.query(
        "SELECT v.camera_id, v.track_id, v.enter, v.exit, i.person_id FROM zone_visits AS v "
        "LEFT JOIN identities AS i ON i.camera_id = v.camera_id AND i.track_id = v.track_id "
        "WHERE v.zone = ?1 AND v.enter >= ?2 AND (?3 < 0 OR v.camera_id = ?3)"
          + extra + " ORDER BY v.enter, v.camera_id, v.track_id",
        p, "alerts: zone visits");
    };
    auto event_of = [&](const sql::row& v, timestamp_ms at, nlohmann::json detail) {
      event_row e;
      e.kind = r.kind;
      e.camera_id = static_cast<uint32_t>(as_int(v[0]));
      e.zone = r.zone;
      e.track_id = static_cast<uint64_t>(as_int(v[1]));
      if (!sql::is_null(v[4])) e.person_id = static_cast<uint64_t>(as_int(v[4]));
      e.time_ms = at;
      e.detail = detail.dump();
      e.dedup = r.kind + "|" + std::to_string(e.camera_id) + "|" + r.zone + "|" + std::to_string(*e.track_id) + "|"
        + std::to_string(as_int(v[2]));
      return e;
    };
    if (r.kind == "restricted_entry") {
      for (auto& v : visits(now - lookback_ms_, "", {}))
        add(event_of(v, as_int(v[2]), {{"enter", format_iso8601(as_int(v[2]))}}));
    } else if (r.kind == "loitering") {
      const timestamp_ms since = now - std::max(lookback_ms_, 2 * r.dwell_ms);
      for (auto& v :
           visits(since, " AND ((v.exit >= 0 AND v.exit - v.enter >= ?4) OR (v.exit < 0 AND ?5 - v.enter >= ?4))",
                  {r.dwell_ms, now})) {
        const auto enter = as_int(v[2]), exit = as_int(v[3]);
        add(event_of(v, enter + r.dwell_ms,
                     {{"enter", format_iso8601(enter)},
                      {"dwell_s", static_cast<double>((exit >= 0 ? exit : now) - enter) / 1000.0},
                      {"threshold_s", static_cast<double>(r.dwell_ms) / 1000.0}}));
      }
    } else { // crowding
      auto inside =
        as_int(db.scalar("SELECT count(*) FROM zone_visits WHERE zone = ?1 AND exit < 0 "
                         "AND (?2 < 0 OR camera_id = ?2)",
                         {r.zone, cam}, "alerts: crowding"));
      if (inside > r.max_people && !crowded_[i]) {
        event_row e;
        e.kind = r.kind;
        e.camera_id = r.camera.value_or(0);
        e.zone = r.zone;
        e.time_ms = now;
        e.detail = nlohmann::json{{"people", inside}, {"max_people", r.max_people}}.dump();
        e.dedup = "crowding|" + std::to_string(cam) + "|" + r.zone + "|" + std::to_string(now);
        add(std::move(e));
      }
      crowded_[i] = inside > r.max_people;
    }
  }
  return raised;
}

} // namespace weaver
