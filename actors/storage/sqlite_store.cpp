#include "actors/storage/sqlite_store.hpp"

#include <chrono>
#include <thread>

#include <stdexcept>

namespace weaver {

namespace sql {

namespace {

std::string message(sqlite3* db, const char* what) {
  return std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

} // namespace

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(message(db, what));
}

stmt_ptr prepare(sqlite3* db, const std::string& text, const char* what) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()),
                              &s, nullptr);
  stmt_ptr owned(s);
  check(db, rc, what);
  return owned;
}

void exec(sqlite3* db, const std::string& text, const char* what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = std::string(what) + ": "
                      + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    throw std::runtime_error(msg);
  }
}

void run(sqlite3* db, sqlite3_stmt* s, const char* what) {
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
  }
  // Reset before throwing so the statement is reusable either way.
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE)
    throw std::runtime_error(message(db, what));
}

} // namespace sql

namespace {

// Index = version - 1. Append new migrations; never edit an applied one.
const char* const migrations[] = {
  // 1: the seed's people_present table (enter/exit in ms since the Unix
  // epoch, UTC), track identities and camera names.
  R"sql(
    CREATE TABLE people_present(
      person_id INTEGER NOT NULL,
      camera_id INTEGER NOT NULL,
      enter INTEGER NOT NULL,
      exit INTEGER NOT NULL);
    -- Idempotent writes; also serves per-person, per-camera lookups (the
    -- "later at camera Y" side of transitions).
    CREATE UNIQUE INDEX people_present_key
      ON people_present(person_id, camera_id, enter);
    -- Time-window scans of one camera (transitions, every-camera).
    CREATE INDEX people_present_camera_enter
      ON people_present(camera_id, enter);
    -- A person's timeline across cameras.
    CREATE INDEX people_present_person_enter
      ON people_present(person_id, enter);
    CREATE TABLE identities(
      camera_id INTEGER,
      track_id INTEGER,
      person_id INTEGER,
      confidence REAL,
      PRIMARY KEY(camera_id, track_id));
    CREATE TABLE cameras(
      camera_id INTEGER PRIMARY KEY,
      name TEXT,
      zone TEXT);
  )sql",
  // 2: re-id's late corrections. A merged id's rows move to the id it was
  // merged into; rows re-sent later under the old id follow (idempotence).
  R"sql(
    CREATE TABLE person_merges(
      from_id INTEGER PRIMARY KEY,
      into_id INTEGER NOT NULL);
  )sql",
};
constexpr int migration_count =
  static_cast<int>(sizeof(migrations) / sizeof(migrations[0]));
static_assert(migration_count == sqlite_store::latest_schema_version,
              "one migration per schema version");

} // namespace

sqlite_store::sqlite_store(const std::string& path) : path_(path) {
  try {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             nullptr);
    db_.reset(raw); // closes the handle sqlite returns even on failure
    sql::check(raw, rc, "open");
    sqlite3_extended_result_codes(raw, 1);
    // Concurrent readers (query, other processes) must not fail at once
    // while the writer holds the lock.
    sqlite3_busy_timeout(raw, 5000);
    // WAL: readers do not block the writer; NORMAL is durable across
    // application crashes, and only an OS crash may lose the last commits.
    // The first statement is also where a non-database file is detected.
    // Two processes creating the same new file at once (storage and query
    // in one pod) can make the switch to WAL fail transiently with an I/O
    // or busy error while the other sets up the -shm file: retry briefly.
    for (int attempt = 0;; ++attempt) {
      int rc = sqlite3_exec(raw, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) break;
      int primary = rc & 0xff;
      if (attempt >= 50 || (primary != SQLITE_IOERR && primary != SQLITE_BUSY && primary != SQLITE_LOCKED))
        sql::exec(raw, "PRAGMA journal_mode=WAL", "journal_mode");  // throws with the message
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    sql::exec(raw, "PRAGMA synchronous=NORMAL", "synchronous");
    migrate();
    begin_ = sql::prepare(raw, "BEGIN IMMEDIATE", "prepare begin");
    commit_ = sql::prepare(raw, "COMMIT", "prepare commit");
    rollback_ = sql::prepare(raw, "ROLLBACK", "prepare rollback");
    // max(): a re-sent or extended interval never shortens a stored one, so
    // the result does not depend on delivery order.
    put_presence_ = sql::prepare(raw,
      "INSERT INTO people_present(person_id, camera_id, enter, exit) "
      "VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(person_id, camera_id, enter) "
      "DO UPDATE SET exit = max(exit, excluded.exit)",
      "prepare presence insert");
    put_identity_ = sql::prepare(raw,
      "INSERT INTO identities(camera_id, track_id, person_id, confidence) "
      "VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(camera_id, track_id) DO UPDATE SET "
      "person_id = excluded.person_id, confidence = excluded.confidence",
      "prepare identity insert");
    put_camera_ = sql::prepare(raw,
      "INSERT INTO cameras(camera_id, name, zone) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(camera_id) DO UPDATE SET "
      "name = excluded.name, zone = excluded.zone",
      "prepare camera insert");
    merged_into_ = sql::prepare(raw, "SELECT into_id FROM person_merges WHERE from_id = ?1",
                                "prepare merge lookup");
    put_merge_ = sql::prepare(raw,
      "INSERT INTO person_merges(from_id, into_id) VALUES(?1, ?2) "
      "ON CONFLICT(from_id) DO UPDATE SET into_id = excluded.into_id",
      "prepare merge insert");
    // OR REPLACE: an identical (camera, enter) row of the target wins.
    move_rows_ = sql::prepare(raw, "UPDATE OR REPLACE people_present SET person_id = ?2 "
                                   "WHERE person_id = ?1", "prepare merge rows");
    move_identities_ = sql::prepare(raw, "UPDATE identities SET person_id = ?2 WHERE person_id = ?1",
                                    "prepare merge identities");
    move_merges_ = sql::prepare(raw, "UPDATE person_merges SET into_id = ?2 WHERE into_id = ?1",
                                "prepare merge chain");
  } catch (const std::exception& e) {
    throw std::runtime_error("storage: cannot open " + path + ": " + e.what());
  }
}

void sqlite_store::migrate() {
  sqlite3* db = db_.get();
  sql::exec(db,
            "CREATE TABLE IF NOT EXISTS schema_version("
            "version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
            "schema_version");
  int current = schema_version();
  if (current > latest_schema_version)
    throw std::runtime_error("schema version " + std::to_string(current)
                             + " is newer than this build's "
                             + std::to_string(latest_schema_version));
  for (int v = current + 1; v <= latest_schema_version; ++v) {
    // Each step and its version row commit together, so a crash mid-way
    // leaves the previous version intact and the step is retried on reopen.
    sql::exec(db, "BEGIN IMMEDIATE", "migration begin");
    try {
      sql::exec(db, migrations[v - 1],
                ("migration " + std::to_string(v)).c_str());
      auto s = sql::prepare(db,
        "INSERT INTO schema_version(version, applied_ms) VALUES(?1, "
        "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
        "schema_version insert");
      sqlite3_bind_int(s.get(), 1, v);
      sql::run(db, s.get(), "schema_version insert");
      sql::exec(db, "COMMIT", "migration commit");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

int sqlite_store::schema_version() const {
  auto s = sql::prepare(db_.get(),
                        "SELECT coalesce(max(version), 0) FROM schema_version",
                        "schema_version");
  sql::check(db_.get(), sqlite3_step(s.get()), "schema_version");
  return sqlite3_column_int(s.get(), 0);
}

std::string sqlite_store::journal_mode() const {
  auto s = sql::prepare(db_.get(), "PRAGMA journal_mode", "journal_mode");
  sql::check(db_.get(), sqlite3_step(s.get()), "journal_mode");
  auto text = sqlite3_column_text(s.get(), 0);
  return text ? reinterpret_cast<const char*>(text) : "";
}

void sqlite_store::upsert_camera(uint32_t id, const std::string& name,
                                 const std::string& zone) {
  sqlite3_stmt* s = put_camera_.get();
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, name.c_str(), static_cast<int>(name.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, zone.c_str(), static_cast<int>(zone.size()),
                    SQLITE_TRANSIENT);
  sql::run(db_.get(), s, "storage: upsert camera");
}

uint64_t sqlite_store::canonical(uint64_t person_id) {
  // Chains are kept flat (merges re-point them), so this is one lookup.
  sqlite3_stmt* s = merged_into_.get();
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(person_id));
  int rc = sqlite3_step(s);
  uint64_t out = person_id;
  if (rc == SQLITE_ROW) out = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw std::runtime_error(sql::message(db_.get(), "storage: merge lookup"));
  return out;
}

void sqlite_store::write(const presence_batch& b) {
  if (b.identities.empty() && b.rows.empty() && b.merges.empty())
    return;
  sqlite3* db = db_.get();
  sql::run(db, begin_.get(), "storage: begin");
  try {
    sqlite3_stmt* s = put_identity_.get();
    for (const auto& id : b.identities) {
      sqlite3_bind_int64(s, 1, id.camera_id);
      // uint64 ids round-trip through INTEGER (int64) by bit pattern.
      sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(id.track_id));
      sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(canonical(id.person_id)));
      sqlite3_bind_double(s, 4, id.confidence);
      sql::run(db, s, "storage: write identity");
    }
    s = put_presence_.get();
    for (const auto& r : b.rows) {
      sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(canonical(r.person_id)));
      sqlite3_bind_int64(s, 2, r.camera_id);
      sqlite3_bind_int64(s, 3, r.enter_ms);
      sqlite3_bind_int64(s, 4, r.exit_ms);
      sql::run(db, s, "storage: write presence");
    }
    for (const auto& m : b.merges) {
      const auto from = static_cast<sqlite3_int64>(m.from);
      const auto into = static_cast<sqlite3_int64>(canonical(m.into));
      if (from == into) continue;
      for (sqlite3_stmt* st : {put_merge_.get(), move_rows_.get(), move_identities_.get(),
                               move_merges_.get()}) {
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, into);
        sql::run(db, st, "storage: merge");
      }
    }
    sql::run(db, commit_.get(), "storage: commit");
  } catch (...) {
    // A failed COMMIT may already have ended the transaction.
    if (!sqlite3_get_autocommit(db)) {
      sqlite3_step(rollback_.get());
      sqlite3_reset(rollback_.get());
    }
    throw;
  }
}

std::vector<presence> sqlite_store::presence_rows() const {
  auto s = sql::prepare(db_.get(),
                        "SELECT person_id, camera_id, enter, exit "
                        "FROM people_present "
                        "ORDER BY person_id, camera_id, enter",
                        "storage: presence rows");
  std::vector<presence> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    presence p;
    p.person_id = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
    p.camera_id = static_cast<uint32_t>(sqlite3_column_int64(s.get(), 1));
    p.enter_ms = sqlite3_column_int64(s.get(), 2);
    p.exit_ms = sqlite3_column_int64(s.get(), 3);
    out.push_back(p);
  }
  sql::check(db_.get(), rc, "storage: presence rows");
  return out;
}

std::vector<identity> sqlite_store::identity_rows() const {
  auto s = sql::prepare(db_.get(),
                        "SELECT camera_id, track_id, person_id, confidence "
                        "FROM identities ORDER BY camera_id, track_id",
                        "storage: identity rows");
  std::vector<identity> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    identity i;
    i.camera_id = static_cast<uint32_t>(sqlite3_column_int64(s.get(), 0));
    i.track_id = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 1));
    i.person_id = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 2));
    i.confidence = static_cast<float>(sqlite3_column_double(s.get(), 3));
    out.push_back(i);
  }
  sql::check(db_.get(), rc, "storage: identity rows");
  return out;
}

size_t sqlite_store::count(const char* text) const {
  auto s = sql::prepare(db_.get(), text, "storage: count");
  sql::check(db_.get(), sqlite3_step(s.get()), "storage: count");
  return static_cast<size_t>(sqlite3_column_int64(s.get(), 0));
}

size_t sqlite_store::presence_count() const {
  return count("SELECT count(*) FROM people_present");
}

size_t sqlite_store::identity_count() const {
  return count("SELECT count(*) FROM identities");
}

size_t sqlite_store::person_count() const {
  return count("SELECT count(DISTINCT person_id) FROM people_present");
}

} // namespace weaver
