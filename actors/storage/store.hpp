// Durable storage: the seed's `people_present` table plus identities,
// cameras, zones, zone visits and events (alerts), with versioned
// migrations, on any sql::database (SQLite or PostgreSQL). Plain class, no
// CAF: the storage actor is a thin shell around it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/storage/database.hpp"
#include "base/types.hpp"

namespace weaver {

/// One stored alert (table `events`).
struct event_row {
  int64_t id = 0; // increases with every new event
  std::string kind; // loitering | crowding | restricted_entry
  uint32_t camera_id = 0;
  std::string zone;
  std::optional<uint64_t> person_id, track_id;
  timestamp_ms time_ms = 0;
  std::string detail; // a JSON object
  std::string dedup; // unique: the same alert is stored once
};

/// A window the offline pass re-solved (table `resolved_windows`).
struct resolved_window {
  timestamp_ms since_ms = 0, until_ms = 0; // tracklets that exited in [since, until)
  timestamp_ms resolved_ms = 0; // when (wall clock)
  size_t tracklets = 0; // how many it looked at
  size_t moved = 0; // tracklets moved plus people merged
};

/// An offline correction: track (camera, track) is person `to`.
struct track_move {
  uint32_t camera_id = 0;
  uint64_t track_id = 0;
  uint64_t to = 0;
};

/// People the offline pass makes get ids from here up (re-id counts from 1,
/// so the two never meet; below 2^53, the codec's id limit).
constexpr uint64_t resolved_id_base = uint64_t{1} << 52;

class store {
public:
  /// The schema version this build creates and understands.
  static constexpr int latest_schema_version = 5;

  /// Takes the connection and migrates its schema to the latest version.
  /// Throws std::runtime_error("storage: <location>: <reason>").
  explicit store(std::unique_ptr<sql::database> db);
  /// Opens a location (see sql::open_database) and migrates.
  static std::unique_ptr<store> open(const std::string& location);

  /// Inserts or renames a camera.
  void upsert_camera(uint32_t id, const std::string& name, const std::string& zone);
  /// Records a configured zone of a camera.
  void upsert_zone(uint32_t camera_id, const std::string& name);
  /// A camera's configured zones become exactly `names` (a runtime edit);
  /// its zone visits stay as they are. One transaction.
  void replace_zones(uint32_t camera_id, const std::vector<std::string>& names);

  /// Writes one batch in one transaction; all or nothing. Idempotent, so a
  /// sender may re-send a batch it saw no acknowledgement for:
  /// - a presence is keyed by (person_id, camera_id, enter); writing it again
  ///   keeps one row whose exit is the largest exit seen;
  /// - an identity is keyed by (camera_id, track_id); the last write wins,
  ///   because reid may revise which person a track belongs to;
  /// - a zone visit is keyed by (camera_id, zone, track_id, enter); a closed
  ///   visit is never reopened by a re-sent open one;
  /// - merges re-point every row of `from` to `into` (presences, identities,
  ///   earlier merges, events; after the rows of the same batch), and rows
  ///   re-sent later under `from` follow.
  void write(const presence_batch& b);

  /// Tracklets that exited in [since, until), in (exit, camera, track) order.
  std::vector<tracklet> tracklet_rows(timestamp_ms since_ms, timestamp_ms until_ms);

  /// Applies the offline pass's corrections in one transaction: each moved
  /// track's tracklet, identity and presence row go to its new person; then
  /// `merges` as re-id's are (every row of `from`, in and outside the
  /// window); records `window` as resolved. Returns tracklets moved plus
  /// merges.
  size_t apply_resolution(const std::vector<track_move>& moves, const std::vector<person_merge>& merges,
                          const resolved_window& window);
  /// The first unused id at or above resolved_id_base.
  uint64_t next_resolved_id();
  /// Resolved windows, by since.
  std::vector<resolved_window> resolved_windows();
  /// Whether [from, to) lies within the union of the resolved windows.
  bool is_resolved(timestamp_ms from_ms, timestamp_ms to_ms);
  /// The end of the latest resolved window, if any.
  std::optional<timestamp_ms> resolved_until();
  /// The earliest and the latest stored tracklet exit, if any.
  std::optional<timestamp_ms> first_tracklet_exit();
  std::optional<timestamp_ms> last_tracklet_exit();

  /// Deletes every row of every table (keeps the schema), in place so that
  /// other processes' connections stay valid: `weaver run --reset`.
  void clear();

  /// Stores an event unless one with the same dedup key exists; returns its
  /// id when it was new.
  std::optional<int64_t> add_event(const event_row& e);

  /// Retention: deletes presences, zone visits, events, tracklets,
  /// resolved windows and pictures (evidence crops, live frames) that ended
  /// before
  /// `cutoff_ms` (and identities of tracks with no zone visit or person row
  /// left is not attempted: identities are small). Returns rows deleted.
  size_t delete_older_than(timestamp_ms cutoff_ms);

  /// All rows, in key order (tests, tools).
  std::vector<presence> presence_rows();
  std::vector<identity> identity_rows();
  std::vector<zone_visit> zone_visit_rows();
  std::vector<event_row> event_rows(int64_t after_id = 0);

  size_t presence_count();
  size_t identity_count();
  size_t person_count();
  size_t zone_visit_count();
  /// Alerts stored per kind, in kind order.
  std::vector<std::pair<std::string, int64_t>> event_counts();

  /// The applied schema version (0 for none).
  int schema_version();

  sql::database& db() { return *db_; }

private:
  size_t count(const char* text);
  void migrate();
  uint64_t canonical(uint64_t person_id);
  /// person -> the id its rows live under now, for the people merged away.
  std::map<uint64_t, uint64_t> canonical(std::vector<uint64_t> people);
  void write_presences(const std::vector<presence>& rows);
  void write_tracklets(const std::vector<tracklet>& rows);
  /// Re-points every row of each merge's `from` (inside the caller's transaction).
  void apply_merges(const std::vector<person_merge>& merges);

  std::unique_ptr<sql::database> db_;
  std::string upsert_presence_tail_;
};

} // namespace weaver
