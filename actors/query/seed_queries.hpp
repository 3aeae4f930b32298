// The seed's two cross-camera use cases as pure functions over an open
// database holding `people_present` (see actors/storage/store).
// Plain functions, no CAF: the query actor calls them.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/storage/database.hpp"
#include "base/types.hpp"

namespace weaver {

constexpr int64_t ms_per_day = 86'400'000;

/// Use case 1: "how many people went from department X to department Y?"
struct transition_result {
  uint32_t from = 0, to = 0;
  int64_t people = 0;
  std::vector<uint64_t> person_ids; // ascending
};

/// Counts distinct people with a visit x at `from_camera` and a visit y at
/// `to_camera` (same person), a visit being a presence seen more than once
/// (exit > enter), such that
///   t0 <= x.enter < t1                   the walk starts inside the window
///                                        (y may end after t1);
///   y.enter >= x.enter                   Y did not start before X;
///   y.exit  >  x.exit                    the person was still at Y after
///                                        leaving X (the walk goes X -> Y);
///   y.enter - x.exit <= max_transit_ms   arrived at Y in time; a negative
///                                        gap (overlapping views of adjacent
///                                        cameras) always qualifies.
/// A single sighting is no walk's end: re-id's view handoff leaves one
/// where a box at a view's edge flickers between cut and whole while the
/// person stands in the next view (the truth counts visits of 5 frames).
/// Ignoring them takes the X -> Y error after the offline pass from 136 to
/// 132 of 1,035 on the layouts tuned on (README, "More sets to tune on, and
/// single sightings").
/// A negative `max_transit_ms` means no limit. For any two intervals at
/// most one of X -> Y and Y -> X holds, and identical intervals give neither.
/// With from == to it counts returns to the same camera. Throws
/// std::runtime_error on SQL errors.
transition_result count_transitions(sql::database& db, uint32_t from_camera, uint32_t to_camera, timestamp_ms t0,
                                    timestamp_ms t1, int64_t max_transit_ms);

/// Use case 2: "who walked through every camera (of a set) on a given day?"
struct every_camera_result {
  std::vector<uint32_t> cameras; // the set, sorted, duplicates removed
  int64_t day_start_ms = 0;
  int64_t people = 0;
  std::vector<uint64_t> person_ids; // ascending
};

/// People with at least one presence entering each camera of `cameras`
/// (single sightings too: the index alone answers this, twice as fast as
/// reading each row's exit over 10M rows, and ignoring them changes the
/// generated layouts' answers by at most one)
/// during [day_start_ms, day_start_ms + 24 h). A presence belongs to the day
/// its enter falls in (as for transitions), so a visit spanning midnight
/// counts for the day it began. `day_start_ms` is used as given (see
/// utc_day_start). An empty set gives 0 people. Throws std::runtime_error
/// on SQL errors.
every_camera_result people_on_every_camera(sql::database& db, const std::vector<uint32_t>& cameras,
                                           timestamp_ms day_start_ms);

nlohmann::json to_json(const transition_result& r);
/// Also carries "day" as the UTC date "YYYY-MM-DD" of day_start_ms.
nlohmann::json to_json(const every_camera_result& r);

/// Midnight UTC of the day containing `t` (floors, also before 1970).
timestamp_ms utc_day_start(timestamp_ms t);

} // namespace weaver
