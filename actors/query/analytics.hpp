// The questions operators ask after the seed's two: occupancy, dwell times,
// paths, funnels, a person's trajectory, unique visitors, plus listings of
// cameras and events. Pure functions over an open sql::database (SQLite or
// PostgreSQL), no CAF; the query actor calls them. Rows are read with
// portable SQL through the indexes the store creates and aggregated here,
// where the rule is plainer than in SQL and the same on both engines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/storage/database.hpp"
#include "base/types.hpp"

namespace weaver {

/// What occupancy and dwell are measured over: one camera's presences, or
/// one zone's visits (tracks, on whichever camera has the zone).
struct place {
  std::optional<uint32_t> camera;
  std::string zone; // used when !camera
};

/// People present in each step [t, t + step) of [t0, t1): a person counts
/// once per step when any of their intervals overlaps it. Zone visits still
/// open count until t1. Intervals are looked up from enter >= t0 - max_stay_ms
/// (longer stays are cut there). Answer: {"series": [{"t", "people"}], "peak"}.
nlohmann::json occupancy(sql::database& db, const place& where, timestamp_ms t0, timestamp_ms t1, int64_t step_ms,
                         int64_t max_stay_ms);

/// Stay lengths of the intervals (closed zone visits) entering in [t0, t1):
/// count, mean / p50 / p90 / max in seconds and a histogram of `bucket_ms`
/// wide buckets (from 0). Answer: {"count", "mean_s", "p50_s", "p90_s",
/// "max_s", "buckets": [{"from_s", "to_s", "count"}]}.
nlohmann::json dwell(sql::database& db, const place& where, timestamp_ms t0, timestamp_ms t1, int64_t bucket_ms);

/// Each person's cameras in order of entry within [t0, t1), repeats of the
/// same camera in a row collapsed; the `top` most frequent sequences of at
/// least `min_length` cameras (ties: the sequence in ascending order).
/// Answer: {"paths": [{"cameras": [..], "people"}], "people"}.
nlohmann::json top_paths(sql::database& db, timestamp_ms t0, timestamp_ms t1, size_t top, size_t min_length);

/// A funnel: people entering steps[0] within [t0, t1), of those who later
/// (enter >= the previous step's enter, and at most max_step_ms after
/// leaving it when >= 0) entered steps[1], and so on. A person counts for
/// step k when some chain of their presences reaches it. Answer:
/// {"steps": [{"camera", "people"}]}.
nlohmann::json funnel(sql::database& db, const std::vector<uint32_t>& steps, timestamp_ms t0, timestamp_ms t1,
                      int64_t max_step_ms);

/// A person's presences (by enter) within [t0, t1) and the zone visits of
/// their tracks. Answer: {"person", "presences": [{"camera", "enter",
/// "exit", "dwell_s"}], "zones": [{"camera", "zone", "enter", "exit"}]}.
nlohmann::json trajectory(sql::database& db, uint64_t person, timestamp_ms t0, timestamp_ms t1);

/// Unique people entering in each UTC day or hour of [t0, t1) (t0 floored
/// to the bucket), optionally on one camera, and over the whole range.
/// Answer: {"bucket", "buckets": [{"t", "people"}], "people"}.
nlohmann::json visitors(sql::database& db, timestamp_ms t0, timestamp_ms t1, bool by_hour,
                        std::optional<uint32_t> camera);

/// Cameras with their names, departments and zones.
nlohmann::json cameras(sql::database& db);

/// Stored events with id > since_id, optionally of one kind and within
/// [t0, t1), by id, the page [offset, offset + limit) read in SQL (the table
/// only grows); an event stored without a person shows the person its track
/// has been identified as since. Answer: {"events": [...], "total",
/// "offset", "limit", "next_offset", "last_id" (the page's last id, else
/// since_id), "newest_id" (the newest event of all, 0 for none)}.
nlohmann::json events(sql::database& db, int64_t since_id, const std::string& kind, timestamp_ms t0, timestamp_ms t1,
                      size_t offset, size_t limit);

/// Cuts the array `key` of `answer` to [offset, offset + limit) and adds
/// "total", "offset", "limit" and "next_offset" (null at the end).
void paginate(nlohmann::json& answer, const std::string& key, size_t offset, size_t limit);

} // namespace weaver
