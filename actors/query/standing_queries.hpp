// Standing queries: alert rules evaluated over the store as data arrives,
// each new alert stored once as an event (table `events`, keyed by a dedup
// key, so evaluating again, restarting or running two evaluators never
// duplicates one). Time is data time: the newest zone entry or exit seen,
// so replayed video raises the same alerts as live video. Pure, no CAF.
//
//   loitering         a track stays in `zone` for at least dwell_ms (raised
//                     while it is still inside, at enter + dwell_ms)
//   crowding          more than max_people tracks inside `zone` at once
//                     (raised when the count rises above, re-armed when it
//                     falls back to max_people or fewer)
//   restricted_entry  a track enters `zone`
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/storage/store.hpp"

namespace weaver {

struct alert_rule {
  std::string kind; // loitering | crowding | restricted_entry
  std::string zone;
  std::optional<uint32_t> camera; // only this camera's zone of that name
  int64_t dwell_ms = 0; // loitering
  int64_t max_people = 0; // crowding
};

/// The kinds of rule, in the order above: what rules, the events query and
/// the gateway's `kind` parameter (and so the OpenAPI spec) accept.
const std::vector<std::string>& alert_kinds();
bool known_alert_kind(const std::string& kind);

/// Throws std::invalid_argument naming the field when a rule is malformed.
void validate(const alert_rule& r);

class standing_queries {
public:
  /// `lookback_ms`: how far behind the newest data late zone visits are still
  /// looked at (a slower camera's rows arrive late).
  explicit standing_queries(std::vector<alert_rule> rules, int64_t lookback_ms = 600'000);

  /// Evaluates every rule; stores and returns the alerts that are new.
  std::vector<event_row> evaluate(store& st);

  bool empty() const { return rules_.empty(); }
  const std::vector<alert_rule>& rules() const { return rules_; }

private:
  std::vector<alert_rule> rules_;
  std::vector<bool> crowded_; // per rule: above max_people at the last check
  int64_t lookback_ms_;
  int64_t max_dwell_ms_ = 0;
  std::map<std::string, timestamp_ms> stored_; // dedup keys known to be stored -> alert time
};

} // namespace weaver
