// One SQL connection behind a small interface, so the store, the queries and
// the tools run unchanged on SQLite (the embedded default) and PostgreSQL.
// Plain classes, no CAF.
//
// SQL text is written once, in the subset both engines understand, with
// positional parameters ?1 .. ?N (the PostgreSQL backend rewrites them to
// $1 .. $N). The few dialect differences go through dialect helpers
// (greatest()). Values are int64, double, text or NULL; PostgreSQL gets each
// parameter's type from its C++ type, so no casts are needed in the SQL.
// Bytes (pictures) are a blob: SQLite BLOB, PostgreSQL BYTEA, whose bytes may
// hold NULs and need not be UTF-8 (a text value must be).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace weaver::sql {

using null_t = std::monostate;
struct blob {
  std::string bytes;
  friend bool operator==(const blob& a, const blob& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const blob& a, const blob& b) { return !(a == b); }
};
using value = std::variant<null_t, int64_t, double, std::string, blob>;
using row = std::vector<value>;

/// Reads a column as int64 (NULL -> fallback, double truncates, text parses).
int64_t as_int(const value& v, int64_t fallback = 0);
double as_double(const value& v, double fallback = 0);
std::string as_text(const value& v);
/// A blob's bytes (a text value's too); empty for anything else.
std::string as_bytes(const value& v);
inline bool is_null(const value& v) { return std::holds_alternative<null_t>(v); }

enum class dialect { sqlite, postgres };
inline const char* dialect_name(dialect d) { return d == dialect::sqlite ? "sqlite" : "postgres"; }

class database {
public:
  virtual ~database() = default;

  virtual dialect kind() const = 0;
  /// "sqlite:<path>" or "postgresql://user@host:port/db" (never a password).
  virtual std::string describe() const = 0;

  /// Runs one or more statements without parameters or results (DDL).
  /// Throws std::runtime_error("<what>: <engine message>").
  virtual void exec(const std::string& text, const char* what) = 0;

  /// Runs one statement with parameters ?1..?N and returns every row.
  /// Statements are prepared once per distinct text and reused.
  virtual std::vector<row> query(const std::string& text, const std::vector<value>& params, const char* what) = 0;

  /// Rows the last INSERT, UPDATE or DELETE run through query() changed.
  virtual size_t changes() const = 0;

  /// Transactions: begin() opens one that serialises writers (SQLite
  /// BEGIN IMMEDIATE); rollback() is safe when none is open.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;

  /// The largest number of parameters one statement may carry.
  virtual size_t max_params() const = 0;

  /// Dialect helpers for the SQL text.
  std::string greatest(const std::string& a, const std::string& b) const;
  std::string least(const std::string& a, const std::string& b) const;

  /// One value (the first column of the first row), or NULL when no row.
  value scalar(const std::string& text, const std::vector<value>& params, const char* what);
};

/// "?first, ?first+1, ..., ?first+count-1": the placeholders of an IN list
/// or of one VALUES row.
std::string placeholder_list(size_t first, size_t count);

/// Opens a connection from a storage location:
///   "postgresql://..." or "postgres://..." (libpq URI; the password may come
///   from PGPASSWORD or ~/.pgpass)  -> PostgreSQL;
///   "sqlite:<path>" or a plain path (":memory:" allowed) -> SQLite.
/// Throws std::runtime_error naming the location when it cannot connect.
std::unique_ptr<database> open_database(const std::string& location);

/// False when `path` exists, is not empty, and does not begin with SQLite's
/// file header: a file no process can be using as a store.
bool looks_like_sqlite_file(const std::string& path);

/// The SQLite file (or ":memory:") a non-PostgreSQL location names:
/// "sqlite:<path>" or a plain path.
std::string sqlite_path(const std::string& location);

/// True when `location` names a PostgreSQL database.
bool is_postgres_location(const std::string& location);

/// The location as it may be shown: a PostgreSQL URL without its password.
std::string shown_location(const std::string& location);

/// RAII transaction: rolls back unless commit() was called.
class transaction {
public:
  explicit transaction(database& db) : db_(db) { db_.begin(); }
  ~transaction() {
    if (!done_) db_.rollback();
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit() {
    db_.commit();
    done_ = true;
  }

private:
  database& db_;
  bool done_ = false;
};

} // namespace weaver::sql
