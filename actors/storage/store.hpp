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
#include "actors/types.hpp"

namespace weaver {

/// One stored alert (table `events`).
struct event_row {
  int64_t id = 0;                      // increases with every new event
  std::string kind;                    // loitering | crowding | restricted_entry
  uint32_t camera_id = 0;
  std::string zone;
  std::optional<uint64_t> person_id, track_id;
  timestamp_ms time_ms = 0;
  std::string detail;                  // a JSON object
  std::string dedup;                   // unique: the same alert is stored once
};

class store {
public:
  /// The schema version this build creates and understands.
  static constexpr int latest_schema_version = 3;

  /// Takes the connection and migrates its schema to the latest version.
  /// Throws std::runtime_error("storage: <location>: <reason>").
  explicit store(std::unique_ptr<sql::database> db);
  /// Opens a location (see sql::open_database) and migrates.
  static std::unique_ptr<store> open(const std::string& location);

  /// Inserts or renames a camera.
  void upsert_camera(uint32_t id, const std::string& name, const std::string& zone);
  /// Records a configured zone of a camera.
  void upsert_zone(uint32_t camera_id, const std::string& name);

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

  /// Deletes every row of every table (keeps the schema): `weaver run --reset`
  /// on a PostgreSQL store.
  void clear();

  /// Stores an event unless one with the same dedup key exists; returns its
  /// id when it was new.
  std::optional<int64_t> add_event(const event_row& e);

  /// Retention: deletes presences, zone visits and events that ended before
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

  std::unique_ptr<sql::database> db_;
  std::string upsert_presence_tail_;
};

} // namespace weaver
