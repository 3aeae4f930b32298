#include "actors/storage/database.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "actors/storage/pg_database.hpp"
#include "actors/storage/sqlite_database.hpp"

namespace weaver::sql {

int64_t as_int(const value& v, int64_t fallback) {
  if (auto n = std::get_if<int64_t>(&v)) return *n;
  if (auto d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (auto t = std::get_if<std::string>(&v)) return std::strtoll(t->c_str(), nullptr, 10);
  return fallback;
}

double as_double(const value& v, double fallback) {
  if (auto n = std::get_if<int64_t>(&v)) return static_cast<double>(*n);
  if (auto d = std::get_if<double>(&v)) return *d;
  if (auto t = std::get_if<std::string>(&v)) return std::strtod(t->c_str(), nullptr);
  return fallback;
}

std::string as_text(const value& v) {
  if (auto n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (auto d = std::get_if<double>(&v)) return std::to_string(*d);
  if (auto t = std::get_if<std::string>(&v)) return *t;
  return {};
}

std::string as_bytes(const value& v) {
  if (auto b = std::get_if<blob>(&v)) return b->bytes;
  if (auto t = std::get_if<std::string>(&v)) return *t;
  return {};
}

std::string database::greatest(const std::string& a, const std::string& b) const {
  // SQLite's two-argument max() is scalar; PostgreSQL's max() is aggregate only.
  return (kind() == dialect::sqlite ? "max(" : "GREATEST(") + a + ", " + b + ")";
}

std::string database::least(const std::string& a, const std::string& b) const {
  return (kind() == dialect::sqlite ? "min(" : "LEAST(") + a + ", " + b + ")";
}

value database::scalar(const std::string& text, const std::vector<value>& params, const char* what) {
  auto rows = query(text, params, what);
  if (rows.empty() || rows.front().empty()) return null_t{};
  return rows.front().front();
}

std::string placeholder_list(size_t first, size_t count) {
  std::string s;
  for (size_t i = 0; i < count; ++i) s += (i ? ", ?" : "?") + std::to_string(first + i);
  return s;
}

bool is_postgres_location(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string shown_location(const std::string& location) {
  return is_postgres_location(location) ? pg_redact_uri(location) : location;
}

std::string sqlite_path(const std::string& location) {
  return location.rfind("sqlite:", 0) == 0 ? location.substr(7) : location;
}

bool looks_like_sqlite_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return true; // missing (or unreadable: opening will say why)
  static constexpr char header[] = "SQLite format 3"; // and its NUL: 16 bytes
  char head[sizeof header] = {};
  in.read(head, sizeof head);
  return in.gcount() == 0 || (in.gcount() == sizeof head && std::memcmp(head, header, sizeof head) == 0);
}

std::unique_ptr<database> open_database(const std::string& location) {
  try {
    if (is_postgres_location(location)) return open_postgres(location);
    return std::make_unique<sqlite_database>(sqlite_path(location));
  } catch (const std::exception& e) {
    throw std::runtime_error("storage: cannot open " + shown_location(location) + ": " + e.what());
  }
}

} // namespace weaver::sql
