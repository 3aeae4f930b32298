// sql::database over libpq.
//
// Statements are prepared once per distinct (text, parameter types) and run
// with PQexecPrepared. Parameters go in binary format: int64 as int8, double
// as float8, strings as text and blobs as bytea straight from the
// std::string's buffer (no copy, no formatting); NULL is sent untyped. Binary is safe because a
// prepared variant is only reused when every non-NULL parameter has exactly
// the type it was prepared with. Results come back in text format and are
// converted by column type (bytea from its hex form).
#include "actors/storage/pg_database.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace weaver::sql {

namespace {

// Type OIDs from PostgreSQL's pg_type.dat (stable across versions).
constexpr Oid bool_oid = 16;
constexpr Oid bytea_oid = 17;
constexpr Oid int8_oid = 20;
constexpr Oid int2_oid = 21;
constexpr Oid int4_oid = 23;
constexpr Oid text_oid = 25;
constexpr Oid oid_oid = 26;
constexpr Oid float4_oid = 700;
constexpr Oid float8_oid = 701;
constexpr Oid numeric_oid = 1700;

struct conn_closer {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct result_clearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_closer>;
using result_ptr = std::unique_ptr<PGresult, result_clearer>;

// libpq's messages on one line: trailing newline dropped, inner line
// breaks (connection errors carry a tab-indented hint) folded to spaces.
std::string one_line(const char* msg) {
  std::string s;
  for (const char* p = msg ? msg : ""; *p; ++p) {
    char c = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
    if (c == ' ' && (s.empty() || s.back() == ' ')) continue;
    s.push_back(c);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// "<what>: <message>" from a failed result: the server's primary message
// (and its detail, e.g. the conflicting key), without the "ERROR:" prefix
// and the statement excerpt; libpq's own message for client-side failures.
[[noreturn]] void fail(const char* what, PGconn* conn, const PGresult* res) {
  std::string msg;
  if (res) {
    if (const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
      msg = one_line(primary);
      if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) msg += " (" + one_line(detail) + ")";
    } else {
      msg = one_line(PQresultErrorMessage(res));
    }
  }
  if (msg.empty()) msg = one_line(PQerrorMessage(conn));
  if (msg.empty()) msg = "unknown libpq error";
  throw std::runtime_error(std::string(what) + ": " + msg);
}

bool ok(const PGresult* r) {
  if (!r) return false;
  auto s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

Oid type_of(const value& v) {
  switch (v.index()) {
    case 1:
      return int8_oid;
    case 2:
      return float8_oid;
    case 3:
      return text_oid;
    case 4:
      return bytea_oid;
    default:
      return 0; // NULL: let the server infer
  }
}

bool ident_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' || u == '$'
    || u >= 0x80;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

void store_be64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

enum class column_kind { integer, real, boolean, bytes, text };

column_kind kind_of(Oid t) {
  switch (t) {
    case int2_oid:
    case int4_oid:
    case int8_oid:
    case oid_oid:
      return column_kind::integer;
    case float4_oid:
    case float8_oid:
    case numeric_oid:
      return column_kind::real;
    case bool_oid:
      return column_kind::boolean;
    case bytea_oid:
      return column_kind::bytes;
    default:
      return column_kind::text;
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea's text output ("\x" then two hex digits a byte: the server's
// default bytea_output since 9.0); nothing for any other form.
std::optional<std::string> from_hex_bytea(const char* s, size_t n) {
  if (n < 2 || s[0] != '\\' || s[1] != 'x' || n % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve((n - 2) / 2);
  for (size_t i = 2; i < n; i += 2) {
    int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

value convert(column_kind k, const char* s, size_t n) {
  switch (k) {
    case column_kind::integer: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(s, s + n, v);
      if (ec == std::errc{} && p == s + n) return v;
      break;
    }
    case column_kind::real: {
      double v = 0;
      auto [p, ec] = std::from_chars(s, s + n, v);
      if (ec == std::errc{} && p == s + n) return v;
      break;
    }
    case column_kind::boolean:
      return static_cast<int64_t>(n > 0 && s[0] == 't');
    case column_kind::bytes:
      if (auto b = from_hex_bytea(s, n)) return blob{std::move(*b)};
      break;
    case column_kind::text:
      break;
  }
  return std::string(s, n);
}

class pg_database final : public database {
public:
  explicit pg_database(const std::string& uri) : described_(pg_redact_uri(uri)) {
    conn_.reset(PQconnectdb(uri.c_str()));
    if (!conn_) throw std::runtime_error("connect: out of memory");
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      throw std::runtime_error("connect: " + one_line(PQerrorMessage(conn_.get())));
    configure();
  }

  dialect kind() const override { return dialect::postgres; }
  std::string describe() const override { return described_; }

  void exec(const std::string& text, const char* what) override {
    reconnect_if_lost();
    result_ptr r(PQexec(conn_.get(), text.c_str()));
    if (!ok(r.get())) fail(what, conn_.get(), r.get());
  }

  std::vector<row> query(const std::string& text, const std::vector<value>& params, const char* what) override {
    reconnect_if_lost();
    const prepared& st = statement(text, params, what);
    const size_t n = params.size();
    values_.resize(n);
    lengths_.resize(n);
    formats_.assign(n, 1);
    numbers_.resize(n * 8);
    for (size_t i = 0; i < n; ++i) {
      const auto& p = params[i];
      char* num = numbers_.data() + i * 8;
      if (auto v = std::get_if<int64_t>(&p)) {
        store_be64(num, static_cast<uint64_t>(*v));
        values_[i] = num;
        lengths_[i] = 8;
      } else if (auto d = std::get_if<double>(&p)) {
        uint64_t bits;
        std::memcpy(&bits, d, sizeof bits);
        store_be64(num, bits);
        values_[i] = num;
        lengths_[i] = 8;
      } else if (auto t = std::get_if<std::string>(&p)) {
        values_[i] = t->data();
        lengths_[i] = static_cast<int>(t->size());
      } else if (auto b = std::get_if<blob>(&p)) {
        values_[i] = b->bytes.data();
        lengths_[i] = static_cast<int>(b->bytes.size());
      } else {
        values_[i] = nullptr;
        lengths_[i] = 0;
      }
    }
    result_ptr r(PQexecPrepared(conn_.get(), st.name.c_str(), static_cast<int>(n), values_.data(), lengths_.data(),
                                formats_.data(), 0));
    if (!ok(r.get())) fail(what, conn_.get(), r.get());
    const char* changed = PQcmdTuples(r.get()); // "" for statements that change no rows
    changes_ = *changed ? std::strtoull(changed, nullptr, 10) : 0;
    return rows_of(r.get());
  }

  size_t changes() const override { return changes_; }

  void begin() override { exec("BEGIN", "begin"); }

  void commit() override {
    result_ptr r(PQexec(conn_.get(), "COMMIT"));
    if (!ok(r.get())) fail("commit", conn_.get(), r.get());
    // COMMIT of a transaction in which a statement failed "succeeds" as a
    // ROLLBACK: report it, or the caller would believe its writes landed.
    if (std::strcmp(PQcmdStatus(r.get()), "ROLLBACK") == 0)
      throw std::runtime_error("commit: the transaction had failed and was rolled back");
  }

  void rollback() noexcept override {
    auto s = PQtransactionStatus(conn_.get());
    if (s == PQTRANS_IDLE || s == PQTRANS_UNKNOWN) return;
    PQclear(PQexec(conn_.get(), "ROLLBACK"));
  }

  size_t max_params() const override { return 65535; }

private:
  size_t changes_ = 0; // rows the last statement changed

  struct prepared {
    std::vector<Oid> types;
    std::string name;
  };

  void configure() {
    // Notices (e.g. "relation already exists, skipping") are noise here.
    // JIT compiling our short queries cost more than it saved (~23 ms of a
    // 100 ms X -> Y over 10M rows), and 4 MB of work_mem sent every-camera's
    // sort to disk: tools/bench_storage.sh. bytea comes back in hex, the
    // one form from_hex_bytea reads, whatever the server's default.
    result_ptr r(PQexec(conn_.get(),
                        "SET client_min_messages = warning; SET jit = off; SET work_mem = '64MB'; "
                        "SET bytea_output = hex"));
    if (!ok(r.get())) fail("connect", conn_.get(), r.get());
  }

  // A connection lost between statements (server restart, idle timeout) is
  // re-established once; the server forgot our prepared statements.
  void reconnect_if_lost() {
    if (PQstatus(conn_.get()) == CONNECTION_OK) return;
    PQreset(conn_.get());
    cache_.clear();
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      throw std::runtime_error("reconnect: " + one_line(PQerrorMessage(conn_.get())));
    configure();
  }

  static bool fits(const prepared& p, const std::vector<value>& params) {
    if (p.types.size() != params.size()) return false;
    for (size_t i = 0; i < params.size(); ++i) {
      Oid t = type_of(params[i]);
      if (t != 0 && t != p.types[i]) return false; // NULL fits any type
    }
    return true;
  }

  const prepared& statement(const std::string& text, const std::vector<value>& params, const char* what) {
    auto it = cache_.find(text);
    if (it != cache_.end()) {
      for (const auto& p : it->second)
        if (fits(p, params)) return p;
    }
    prepared p;
    p.types.reserve(params.size());
    for (const auto& v : params) p.types.push_back(type_of(v));
    p.name = "s" + std::to_string(++counter_);
    const std::string pg_text = pg_placeholders(text);
    result_ptr r(
      PQprepare(conn_.get(), p.name.c_str(), pg_text.c_str(), static_cast<int>(p.types.size()), p.types.data()));
    if (!ok(r.get())) fail(what, conn_.get(), r.get());
    if (it == cache_.end()) it = cache_.emplace(text, std::vector<prepared>{}).first;
    it->second.push_back(std::move(p));
    return it->second.back();
  }

  static std::vector<row> rows_of(const PGresult* r) {
    const int nrows = PQntuples(r);
    const int ncols = PQnfields(r);
    std::vector<column_kind> kinds(static_cast<size_t>(ncols));
    for (int c = 0; c < ncols; ++c) kinds[static_cast<size_t>(c)] = kind_of(PQftype(r, c));
    std::vector<row> out;
    out.reserve(static_cast<size_t>(nrows));
    for (int i = 0; i < nrows; ++i) {
      row& rw = out.emplace_back(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(r, i, c)) continue;
        rw[static_cast<size_t>(c)] =
          convert(kinds[static_cast<size_t>(c)], PQgetvalue(r, i, c), static_cast<size_t>(PQgetlength(r, i, c)));
      }
    }
    return out;
  }

  std::string described_;
  conn_ptr conn_;
  std::unordered_map<std::string, std::vector<prepared>> cache_;
  uint64_t counter_ = 0;
  // Parameter buffers, reused across calls.
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::vector<char> numbers_;
};

} // namespace

namespace {

// Just past the literal or quoted identifier opening at text[i] (a doubled
// quote stands for one; `escapes`: a backslash escapes the next character).
size_t end_of_quoted(const std::string& text, size_t i, bool escapes) {
  const char quote = text[i];
  const size_t n = text.size();
  size_t j = i + 1;
  while (j < n) {
    if (escapes && text[j] == '\\') {
      j += 2;
    } else if (text[j] == quote) {
      if (j + 1 < n && text[j + 1] == quote)
        j += 2;
      else
        return j + 1;
    } else {
      ++j;
    }
  }
  return n;
}

} // namespace

std::string pg_placeholders(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 8);
  const size_t n = text.size();
  size_t i = 0;
  auto copy_to = [&](size_t end) {
    out.append(text, i, end - i);
    i = end;
  };
  while (i < n) {
    const char c = text[i];
    const bool after_ident = i > 0 && ident_char(text[i - 1]);
    if (c == '\'') {
      // E'...' (backslash escapes) when the quote follows a lone E.
      bool escapes = i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e') && !(i > 1 && ident_char(text[i - 2]));
      copy_to(end_of_quoted(text, i, escapes));
    } else if (c == '"') {
      copy_to(end_of_quoted(text, i, false));
    } else if (c == '-' && i + 1 < n && text[i + 1] == '-') {
      size_t j = text.find('\n', i);
      copy_to(j == std::string::npos ? n : j + 1);
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      size_t j = i + 2;
      int depth = 1;
      while (j < n && depth > 0) {
        if (text[j] == '/' && j + 1 < n && text[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (text[j] == '*' && j + 1 < n && text[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      copy_to(j);
    } else if (c == '$' && !after_ident) {
      // $tag$ ... $tag$ (tag empty or an identifier not starting with a digit).
      size_t j = i + 1;
      if (j < n && !digit(text[j])) {
        while (j < n && text[j] != '$' && ident_char(text[j])) ++j;
      }
      if (j < n && text[j] == '$' && (j == i + 1 || !digit(text[i + 1]))) {
        const std::string tag = text.substr(i, j - i + 1);
        size_t close = text.find(tag, j + 1);
        copy_to(close == std::string::npos ? n : close + tag.size());
      } else {
        out.push_back(c);
        ++i;
      }
    } else if (c == '?' && i + 1 < n && digit(text[i + 1])) {
      out.push_back('$');
      ++i;
      size_t j = i;
      while (j < n && digit(text[j])) ++j;
      copy_to(j);
    } else if (ident_char(c)) {
      // Whole identifiers/keywords at once (keeps "a$b" and "x?" intact).
      size_t j = i + 1;
      while (j < n && ident_char(text[j])) ++j;
      copy_to(j);
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string pg_redact_uri(const std::string& uri) {
  std::string s = uri;
  const size_t scheme = s.find("://");
  if (scheme == std::string::npos) return s;
  const size_t start = scheme + 3;
  size_t auth_end = s.find_first_of("/?", start);
  if (auth_end == std::string::npos) auth_end = s.size();
  const size_t at = s.rfind('@', auth_end);
  if (at != std::string::npos && at >= start) {
    const size_t colon = s.find(':', start);
    if (colon != std::string::npos && colon < at) s.erase(colon, at - colon);
  }
  const size_t q = s.find('?');
  if (q == std::string::npos) return s;
  std::string query;
  size_t pos = q + 1;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    if (amp == std::string::npos) amp = s.size();
    std::string param = s.substr(pos, amp - pos);
    if (!param.empty() && param.rfind("password=", 0) != 0 && param != "password") {
      if (!query.empty()) query += '&';
      query += param;
    }
    pos = amp + 1;
  }
  s.erase(q);
  if (!query.empty()) s += "?" + query;
  return s;
}

std::unique_ptr<database> open_postgres(const std::string& uri) { return std::make_unique<pg_database>(uri); }

} // namespace weaver::sql
