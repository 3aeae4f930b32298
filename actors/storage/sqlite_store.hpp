// Durable storage of presence intervals, identities and cameras in SQLite.
// Plain class, no CAF: the storage actor is a thin shell around it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "actors/types.hpp"

namespace weaver {

/// Small RAII helpers over the SQLite C API, shared with the query module.
namespace sql {

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

/// Prepares `text`; throws std::runtime_error("<what>: <sqlite message>").
stmt_ptr prepare(sqlite3* db, const std::string& text, const char* what);

/// Runs one or more statements without results; throws like prepare().
void exec(sqlite3* db, const std::string& text, const char* what);

/// Steps a statement that returns no rows (or whose rows are ignored) to
/// completion and resets it for reuse; throws like prepare().
void run(sqlite3* db, sqlite3_stmt* s, const char* what);

/// Throws std::runtime_error("<what>: <sqlite message>") unless rc is ok.
void check(sqlite3* db, int rc, const char* what);

} // namespace sql

/// Owns one SQLite database: the seed's `people_present` table plus
/// `identities` and `cameras`. Not thread-safe: one owner (the storage actor)
/// uses it; other processes may read the same file concurrently (WAL).
class sqlite_store {
public:
  /// The schema version this build creates and understands.
  static constexpr int latest_schema_version = 2;

  /// Opens or creates `path` (":memory:" allowed), sets WAL, synchronous =
  /// NORMAL and a busy timeout, and migrates the schema to the latest version.
  /// Throws std::runtime_error("storage: cannot open <path>: <reason>").
  explicit sqlite_store(const std::string& path);

  sqlite_store(sqlite_store&&) noexcept = default;
  sqlite_store& operator=(sqlite_store&&) noexcept = default;

  /// Inserts or renames a camera.
  void upsert_camera(uint32_t id, const std::string& name,
                     const std::string& zone);

  /// Writes one batch in one transaction; all or nothing. Idempotent:
  /// - a presence is keyed by (person_id, camera_id, enter); writing it again
  ///   keeps one row whose exit is the largest exit seen, so re-delivery and
  ///   a later, longer version of the same open interval both converge;
  /// - an identity is keyed by (camera_id, track_id); the last write wins,
  ///   because reid may revise which person a track belongs to.
  void write(const presence_batch& b);

  /// All presence rows ordered by person_id, camera_id, enter.
  std::vector<presence> presence_rows() const;
  /// All identities ordered by camera_id, track_id.
  std::vector<identity> identity_rows() const;

  size_t presence_count() const;
  size_t identity_count() const;
  /// Distinct person_id in people_present.
  size_t person_count() const;

  /// The applied schema version (0 for none).
  int schema_version() const;
  /// SQLite's journal mode as it reports it ("wal", or "memory" for :memory:).
  std::string journal_mode() const;

  const std::string& path() const { return path_; }
  /// The raw handle, for the query module's read-only SQL.
  sqlite3* handle() { return db_.get(); }

private:
  size_t count(const char* text) const;
  void migrate();

  std::string path_;
  // Declared before the statements so it is destroyed after them.
  sql::db_ptr db_;
  // Prepared once, reused by every write().
  sql::stmt_ptr begin_, commit_, rollback_;
  sql::stmt_ptr put_presence_, put_identity_, put_camera_;
  sql::stmt_ptr merged_into_, put_merge_, move_rows_, move_identities_, move_merges_;
  /// The id a person's rows live under now (after merges).
  uint64_t canonical(uint64_t person_id);
};

} // namespace weaver
