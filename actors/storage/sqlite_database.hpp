// The SQLite backend of sql::database, plus RAII helpers over the SQLite C
// API for the few places that need the raw handle (SQLite-only tests).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include <sqlite3.h>

#include "actors/storage/database.hpp"

namespace weaver::sql {

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
/// Throws std::runtime_error("<what>: <sqlite message>") unless rc is ok.
void check(sqlite3* db, int rc, const char* what);

class sqlite_database final : public database {
public:
  /// Opens or creates `path` (":memory:" allowed) with WAL, synchronous =
  /// NORMAL and a busy timeout. Throws std::runtime_error on failure.
  explicit sqlite_database(const std::string& path);

  dialect kind() const override { return dialect::sqlite; }
  std::string describe() const override { return "sqlite:" + path_; }
  void exec(const std::string& text, const char* what) override;
  std::vector<row> query(const std::string& text, const std::vector<value>& params, const char* what) override;
  void begin() override;
  void commit() override;
  void rollback() noexcept override;
  size_t max_params() const override;
  size_t changes() const override { return static_cast<size_t>(sqlite3_changes64(db_.get())); }

  sqlite3* handle() { return db_.get(); }
  const std::string& path() const { return path_; }

private:
  sqlite3_stmt* statement(const std::string& text, const char* what);

  std::string path_;
  db_ptr db_; // declared before the statements so it is destroyed after them
  std::unordered_map<std::string, stmt_ptr> cache_;
};

} // namespace weaver::sql
