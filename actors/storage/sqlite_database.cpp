#include "actors/storage/sqlite_database.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace weaver::sql {

namespace {

std::string message(sqlite3* db, const char* what) {
  return std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

} // namespace

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(message(db, what));
}

stmt_ptr prepare(sqlite3* db, const std::string& text, const char* what) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()), &s, nullptr);
  stmt_ptr owned(s);
  check(db, rc, what);
  return owned;
}

void exec(sqlite3* db, const std::string& text, const char* what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = std::string(what) + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    throw std::runtime_error(msg);
  }
}

sqlite_database::sqlite_database(const std::string& path) : path_(path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db_.reset(raw); // closes the handle sqlite returns even on failure
  check(raw, rc, "open");
  sqlite3_extended_result_codes(raw, 1);
  // Concurrent readers (query, other processes) must not fail at once while
  // the writer holds the lock.
  sqlite3_busy_timeout(raw, 5000);
  // WAL: readers do not block the writer; NORMAL is durable across
  // application crashes (only an OS crash may lose the last commits). The
  // first statement is also where a non-database file is detected. Two
  // processes creating the same new file at once (storage and query in one
  // pod) can make the switch fail transiently while the other sets up the
  // -shm file: retry briefly.
  for (int attempt = 0;; ++attempt) {
    int rc2 = sqlite3_exec(raw, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc2 == SQLITE_OK) break;
    int primary = rc2 & 0xff;
    if (attempt >= 50 || (primary != SQLITE_IOERR && primary != SQLITE_BUSY && primary != SQLITE_LOCKED))
      sql::exec(raw, "PRAGMA journal_mode=WAL", "journal_mode"); // throws with the message
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  sql::exec(raw, "PRAGMA synchronous=NORMAL", "synchronous");
  // 64 MiB of page cache (the default is 2 MiB): the indexes' hot pages stay
  // in memory while millions of rows arrive.
  sql::exec(raw, "PRAGMA cache_size=-65536", "cache_size");
}

void sqlite_database::exec(const std::string& text, const char* what) { sql::exec(db_.get(), text, what); }

sqlite3_stmt* sqlite_database::statement(const std::string& text, const char* what) {
  auto it = cache_.find(text);
  if (it == cache_.end()) it = cache_.emplace(text, prepare(db_.get(), text, what)).first;
  return it->second.get();
}

std::vector<row> sqlite_database::query(const std::string& text, const std::vector<value>& params, const char* what) {
  sqlite3* db = db_.get();
  sqlite3_stmt* s = statement(text, what);
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    const auto& p = params[i];
    if (auto n = std::get_if<int64_t>(&p))
      sqlite3_bind_int64(s, idx, *n);
    else if (auto d = std::get_if<double>(&p))
      sqlite3_bind_double(s, idx, *d);
    else if (auto t = std::get_if<std::string>(&p))
      sqlite3_bind_text(s, idx, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
    else if (auto b = std::get_if<blob>(&p))
      sqlite3_bind_blob(s, idx, b->bytes.data(), static_cast<int>(b->bytes.size()), SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(s, idx);
  }
  std::vector<row> out;
  int rc;
  const int cols = sqlite3_column_count(s);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    row r(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      switch (sqlite3_column_type(s, c)) {
        case SQLITE_INTEGER:
          r[static_cast<size_t>(c)] = static_cast<int64_t>(sqlite3_column_int64(s, c));
          break;
        case SQLITE_FLOAT:
          r[static_cast<size_t>(c)] = sqlite3_column_double(s, c);
          break;
        case SQLITE_NULL:
          break;
        case SQLITE_BLOB: {
          auto p = static_cast<const char*>(sqlite3_column_blob(s, c));
          r[static_cast<size_t>(c)] = blob{std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, c)))};
          break;
        }
        default: {
          auto txt = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
          r[static_cast<size_t>(c)] = std::string(txt ? txt : "", static_cast<size_t>(sqlite3_column_bytes(s, c)));
        }
      }
    }
    out.push_back(std::move(r));
  }
  // Reset before throwing so the cached statement is reusable either way.
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) throw std::runtime_error(message(db, what));
  return out;
}

void sqlite_database::begin() { query("BEGIN IMMEDIATE", {}, "begin"); }
void sqlite_database::commit() { query("COMMIT", {}, "commit"); }

void sqlite_database::rollback() noexcept {
  // A failed COMMIT may already have ended the transaction.
  if (!sqlite3_get_autocommit(db_.get())) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

size_t sqlite_database::max_params() const {
  return static_cast<size_t>(sqlite3_limit(db_.get(), SQLITE_LIMIT_VARIABLE_NUMBER, -1));
}

} // namespace weaver::sql
