// sql::database on PostgreSQL (a real server: CTest fixture `pg`), and the
// same value round trips on SQLite.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/storage/pg_database.hpp"
#include "test_databases.hpp"

using namespace weaver;
using sql::dialect;
using sql::null_t;
using sql::value;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int64_t count(sql::database& db, const std::string& table) {
  return sql::as_int(db.scalar("SELECT COUNT(*) FROM " + table, {}, "count"));
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

} // namespace

TEST_CASE("?N placeholders become $N outside literals, identifiers and comments") {
  using sql::pg_placeholders;
  CHECK(pg_placeholders("SELECT ?1, ?2") == "SELECT $1, $2");
  CHECK(pg_placeholders("VALUES (?10,?1),(?100)") == "VALUES ($10,$1),($100)");
  CHECK(pg_placeholders("a=?1 AND b=?12") == "a=$1 AND b=$12");
  CHECK(pg_placeholders("SELECT '?1', ?1") == "SELECT '?1', $1");
  CHECK(pg_placeholders("SELECT 'it''s ?1', ?2") == "SELECT 'it''s ?1', $2");
  CHECK(pg_placeholders(R"(SELECT E'\'?1', ?1)") == R"(SELECT E'\'?1', $1)");
  CHECK(pg_placeholders(R"(SELECT 'a\', ?1)") == R"(SELECT 'a\', $1)"); // standard strings: \ is plain
  CHECK(pg_placeholders(R"(SELECT "quoted?1", "x""?2", ?3)") == R"(SELECT "quoted?1", "x""?2", $3)");
  CHECK(pg_placeholders("SELECT ?1 -- ?2\n, ?3") == "SELECT $1 -- ?2\n, $3");
  CHECK(pg_placeholders("/* ?1 /* ?2 */ ?3 */ ?4") == "/* ?1 /* ?2 */ ?3 */ $4");
  CHECK(pg_placeholders("SELECT $$ ?1 $$, $tag$ ?2 $x$ $tag$, ?3") == "SELECT $$ ?1 $$, $tag$ ?2 $x$ $tag$, $3");
  CHECK(pg_placeholders("SELECT $1, a$b, ?2") == "SELECT $1, a$b, $2");
  CHECK(pg_placeholders("SELECT j ? 'k', j ?| ARRAY['a'], ?1") == "SELECT j ? 'k', j ?| ARRAY['a'], $1");
  CHECK(pg_placeholders("SELECT 'unterminated ?1") == "SELECT 'unterminated ?1");
  CHECK(pg_placeholders("SELECT ?") == "SELECT ?");
  CHECK(pg_placeholders("") == "");
  CHECK(pg_placeholders("héllo ?1 'ünï ?2'") == "héllo $1 'ünï ?2'");
}

TEST_CASE("a PostgreSQL URI is described without its password") {
  using sql::pg_redact_uri;
  CHECK(pg_redact_uri("postgresql://weaver:s3cret@db:5432/weaver") == "postgresql://weaver@db:5432/weaver");
  CHECK(pg_redact_uri("postgres://u:p@ss@h/db") == "postgres://u@h/db");
  CHECK(pg_redact_uri("postgresql://u@h/db?password=x&sslmode=require") == "postgresql://u@h/db?sslmode=require");
  CHECK(pg_redact_uri("postgresql://u@h/db?sslmode=require&password=x") == "postgresql://u@h/db?sslmode=require");
  CHECK(pg_redact_uri("postgresql://u:p@h/db?password=x") == "postgresql://u@h/db");
  CHECK(pg_redact_uri("postgresql://h:5/db") == "postgresql://h:5/db");
  CHECK(pg_redact_uri("postgresql://h:5/db?options=-csearch_path%3Dx")
        == "postgresql://h:5/db?options=-csearch_path%3Dx");
}

TEST_CASE("every value type round-trips on both backends") {
  const std::vector<value> values = {
    int64_t{0},
    int64_t{-1},
    std::numeric_limits<int64_t>::max(),
    std::numeric_limits<int64_t>::min(),
    0.0,
    0.1,
    -2.5,
    3.141592653589793,
    1e-300,
    -1.7976931348623157e308,
    5e-324,
    std::string{},
    std::string{"plain"},
    std::string{"it's \"quoted\" ?1 $1 \\ back"},
    std::string{"ünïcødé ✓ 日本語 🎥"},
    std::string(100000, 'x'),
    value{null_t{}},
  };
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    auto db = fresh_database(d);
    REQUIRE(db->kind() == d);
    // Straight through SELECT ?1: the result has the parameter's type.
    for (const auto& v : values) {
      CAPTURE(sql::as_text(v).substr(0, 40));
      CHECK(db->scalar("SELECT ?1", {v}, "echo") == v);
    }
    // Through a table, in typed columns.
    db->exec("CREATE TABLE rt (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT)", "create");
    int64_t id = 0;
    for (const auto& v : values) {
      value i = null_t{}, dv = null_t{}, s = null_t{};
      if (std::holds_alternative<int64_t>(v)) i = v;
      if (std::holds_alternative<double>(v)) dv = v;
      if (std::holds_alternative<std::string>(v)) s = v;
      db->query("INSERT INTO rt (id, i, d, s) VALUES (?1, ?2, ?3, ?4)", {++id, i, dv, s}, "insert");
    }
    auto rows = db->query("SELECT i, d, s FROM rt ORDER BY id", {}, "select");
    REQUIRE(rows.size() == values.size());
    for (size_t k = 0; k < values.size(); ++k) {
      CAPTURE(k);
      const auto& v = values[k];
      const size_t col = std::holds_alternative<int64_t>(v) ? 0 : std::holds_alternative<double>(v) ? 1 : 2;
      CHECK(rows[k][col] == v);
      for (size_t c = 0; c < 3; ++c)
        if (c != col) CHECK(sql::is_null(rows[k][c]));
    }
    // Parameters in WHERE find the exact values again.
    CHECK(count(*db, "rt") == static_cast<int64_t>(values.size()));
    CHECK(sql::as_int(db->scalar("SELECT id FROM rt WHERE i = ?1", {std::numeric_limits<int64_t>::min()}, "w")) == 4);
    CHECK(sql::as_int(db->scalar("SELECT id FROM rt WHERE d = ?1", {5e-324}, "w")) == 11);
    CHECK(sql::as_int(db->scalar("SELECT id FROM rt WHERE s = ?1", {std::string{"ünïcødé ✓ 日本語 🎥"}}, "w")) == 15);
    CHECK(sql::is_null(db->scalar("SELECT id FROM rt WHERE s = ?1", {std::string{"none"}}, "w")));
  }
}

TEST_CASE("PostgreSQL result columns convert by type") {
  auto db = fresh_database(dialect::postgres);
  auto rows = db->query(
    "SELECT 7::int2, 8::int4, 9::int8, 10::oid, 1.5::float4, 2.25::numeric, 0.1::float8, true, false, "
    "NULL, 'v'::varchar, 'abc'::text, '2024-03-05'::date",
    {}, "types");
  REQUIRE(rows.size() == 1);
  const auto& r = rows[0];
  CHECK(r[0] == value{int64_t{7}});
  CHECK(r[1] == value{int64_t{8}});
  CHECK(r[2] == value{int64_t{9}});
  CHECK(r[3] == value{int64_t{10}});
  CHECK(r[4] == value{1.5});
  CHECK(r[5] == value{2.25});
  CHECK(r[6] == value{0.1});
  CHECK(r[7] == value{int64_t{1}});
  CHECK(r[8] == value{int64_t{0}});
  CHECK(sql::is_null(r[9]));
  CHECK(r[10] == value{std::string{"v"}});
  CHECK(r[11] == value{std::string{"abc"}});
  CHECK(r[12] == value{std::string{"2024-03-05"}});
  // Aggregates: COUNT is int8, SUM(int8) is numeric (a double here).
  CHECK(db->scalar("SELECT COUNT(*) FROM (VALUES (1),(2)) v(x)", {}, "count") == value{int64_t{2}});
}

TEST_CASE("the same text runs with different parameter types") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    auto db = fresh_database(d);
    // NULL first (PostgreSQL would infer text), then each type.
    CHECK(sql::is_null(db->scalar("SELECT ?1", {null_t{}}, "echo")));
    CHECK(db->scalar("SELECT ?1", {int64_t{5}}, "echo") == value{int64_t{5}});
    CHECK(db->scalar("SELECT ?1", {std::string{"x"}}, "echo") == value{std::string{"x"}});
    CHECK(db->scalar("SELECT ?1", {2.5}, "echo") == value{2.5});
    CHECK(db->scalar("SELECT ?1", {int64_t{6}}, "echo") == value{int64_t{6}});
    CHECK(sql::is_null(db->scalar("SELECT ?1", {null_t{}}, "echo")));

    db->exec("CREATE TABLE t (a BIGINT, b DOUBLE PRECISION)", "create");
    const std::string ins = "INSERT INTO t (a, b) VALUES (?1, ?2)";
    db->query(ins, {null_t{}, null_t{}}, "insert");
    db->query(ins, {int64_t{1}, null_t{}}, "insert");
    db->query(ins, {null_t{}, 1.5}, "insert");
    db->query(ins, {int64_t{2}, 2.5}, "insert");
    // A double into a DOUBLE column given as an integer, as the store may.
    db->query(ins, {int64_t{3}, int64_t{3}}, "insert");
    auto rows = db->query("SELECT a, b FROM t ORDER BY a NULLS FIRST, b NULLS FIRST", {}, "select");
    REQUIRE(rows.size() == 5);
    CHECK(sql::is_null(rows[0][0]));
    CHECK(sql::is_null(rows[0][1]));
    CHECK(rows[1][1] == value{1.5});
    CHECK(rows[2][0] == value{int64_t{1}});
    CHECK(rows[3][0] == value{int64_t{2}});
    CHECK(rows[3][1] == value{2.5});
    CHECK(sql::as_double(rows[4][1]) == 3.0);
  }
}

TEST_CASE("errors carry what failed and the engine's message") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    auto db = fresh_database(d);
    auto e = error_of([&] { db->query("SELECT * FROM no_such_table WHERE x = ?1", {int64_t{1}}, "probe"); });
    CHECK(starts_with(e, "probe: "));
    CHECK(contains(e, "no_such_table"));
    CHECK(e.back() != '\n');
    e = error_of([&] { db->exec("CREATE TABLE u (a BIGINT PRIMARY KEY); SELEC 1", "schema"); });
    CHECK(starts_with(e, "schema: "));
    CHECK(contains(e, "SELEC"));
    // The connection stays usable, and a statement that failed to prepare
    // is not cached.
    db->exec("CREATE TABLE IF NOT EXISTS u (a BIGINT PRIMARY KEY)", "schema");
    db->query("INSERT INTO u (a) VALUES (?1)", {int64_t{1}}, "insert");
    e = error_of([&] { db->query("INSERT INTO u (a) VALUES (?1)", {int64_t{1}}, "insert"); });
    CHECK(starts_with(e, "insert: "));
    CHECK((contains(e, "UNIQUE") || contains(e, "duplicate key")));
    db->exec("CREATE TABLE no_such_table (x BIGINT)", "create");
    CHECK(db->query("SELECT * FROM no_such_table WHERE x = ?1", {int64_t{1}}, "probe").empty());
  }
}

TEST_CASE("transactions: rollback discards, commit keeps") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    auto db = fresh_database(d);
    db->exec("CREATE TABLE t (a BIGINT)", "create");
    const std::string ins = "INSERT INTO t (a) VALUES (?1)";
    db->rollback(); // none open: a no-op
    db->begin();
    db->query(ins, {int64_t{1}}, "insert");
    db->rollback();
    CHECK(count(*db, "t") == 0);
    db->begin();
    db->query(ins, {int64_t{2}}, "insert");
    db->commit();
    CHECK(count(*db, "t") == 1);
    {
      sql::transaction tx{*db};
      db->query(ins, {int64_t{3}}, "insert");
    } // no commit: rolled back
    CHECK(count(*db, "t") == 1);
    {
      sql::transaction tx{*db};
      db->query(ins, {int64_t{4}}, "insert");
      tx.commit();
    }
    CHECK(count(*db, "t") == 2);
    // Another connection sees committed rows only.
    if (d == dialect::postgres) {
      auto other = sql::open_database(same_schema_location(*db));
      sql::transaction tx{*db};
      db->query(ins, {int64_t{5}}, "insert");
      CHECK(count(*other, "t") == 2);
      tx.commit();
      CHECK(count(*other, "t") == 3);
    }
  }
}

TEST_CASE("PostgreSQL: committing a transaction in which a statement failed throws") {
  auto db = fresh_database(dialect::postgres);
  db->exec("CREATE TABLE t (a BIGINT PRIMARY KEY)", "create");
  db->begin();
  db->query("INSERT INTO t (a) VALUES (?1)", {int64_t{1}}, "insert");
  CHECK_THROWS(db->query("INSERT INTO t (a) VALUES (?1)", {int64_t{1}}, "insert"));
  auto e = error_of([&] { db->commit(); });
  CHECK(starts_with(e, "commit: "));
  CHECK(count(*db, "t") == 0);
  db->rollback(); // already over: a no-op
  CHECK(count(*db, "t") == 0);
}

TEST_CASE("a multi-row upsert of 5000 rows in one statement") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    auto db = fresh_database(d);
    db->exec(
      "CREATE TABLE m (a BIGINT NOT NULL, b BIGINT NOT NULL, c BIGINT NOT NULL, d BIGINT NOT NULL, "
      "PRIMARY KEY (a, b, c))",
      "create");
    constexpr int rows = 5000;
    REQUIRE(db->max_params() >= rows * 4);
    std::string text = "INSERT INTO m (a, b, c, d) VALUES ";
    std::vector<value> params;
    params.reserve(rows * 4);
    for (int r = 0; r < rows; ++r) {
      const int p = r * 4;
      text += (r ? ",(" : "(") + std::string("?") + std::to_string(p + 1) + ",?" + std::to_string(p + 2) + ",?"
        + std::to_string(p + 3) + ",?" + std::to_string(p + 4) + ")";
      params.insert(params.end(), {int64_t{r % 7}, int64_t{r}, int64_t{r * 3}, int64_t{r}});
    }
    text += " ON CONFLICT (a, b, c) DO UPDATE SET d = " + db->greatest("m.d", "excluded.d");
    db->query(text, params, "upsert");
    CHECK(count(*db, "m") == rows);
    CHECK(sql::as_int(db->scalar("SELECT SUM(d) FROM m", {}, "sum")) == int64_t{rows} * (rows - 1) / 2);
    // Again with half the d values raised: the same rows, the larger d kept.
    for (int r = 0; r < rows; ++r) params[static_cast<size_t>(r * 4 + 3)] = int64_t{r % 2 ? r + 10 : r - 10};
    db->query(text, params, "upsert");
    CHECK(count(*db, "m") == rows);
    CHECK(sql::as_int(db->scalar("SELECT SUM(d) FROM m", {}, "sum")) == int64_t{rows} * (rows - 1) / 2 + 10 * rows / 2);
  }
}

TEST_CASE("describe() names the location without the password") {
  CHECK(fresh_database(dialect::sqlite)->describe() == "sqlite::memory:");
  const std::string uri = test_pg_uri(); // postgresql://weaver@127.0.0.1:PORT/weaver
  const char* dir = std::getenv("WEAVER_TEST_PG_DIR");
  const std::string password = read_line(std::string(dir) + "/password");
  REQUIRE(!password.empty());
  std::string with_password = uri;
  with_password.replace(with_password.find("weaver@"), 7, "weaver:" + password + "@");
  auto db = sql::open_database(with_password + "?sslmode=disable&password=" + password);
  CHECK(db->kind() == dialect::postgres);
  CHECK(db->describe() == uri + "?sslmode=disable");
  CHECK(!contains(db->describe(), password));
  auto fresh = fresh_database(dialect::postgres);
  CHECK(starts_with(fresh->describe(), uri + "?options=-csearch_path%3Dt_"));
}

TEST_CASE("a connection failure names the location and libpq's reason") {
  auto e = error_of([] { sql::open_database("postgresql://weaver@127.0.0.1:1/weaver"); });
  CHECK(contains(e, "postgresql://weaver@127.0.0.1:1/weaver"));
  CHECK(contains(e, "127.0.0.1"));
  CHECK(contains(e, "refused"));
  e = error_of([] { sql::open_postgres("postgresql://weaver:hunter2@127.0.0.1:1/weaver"); });
  CHECK(starts_with(e, "connect: "));
  CHECK(!contains(e, "hunter2"));
  // A wrong password is reported as such.
  const std::string uri = test_pg_uri();
  std::string wrong = uri;
  wrong.replace(wrong.find("weaver@"), 7, "weaver:wrong@");
  e = error_of([&] { sql::open_postgres(wrong); });
  CHECK(contains(e, "password authentication failed"));
}

TEST_CASE("PostgreSQL: a lost connection is re-established for the next statement") {
  auto db = fresh_database(dialect::postgres);
  db->exec("CREATE TABLE t (a BIGINT)", "create");
  db->query("INSERT INTO t (a) VALUES (?1)", {int64_t{1}}, "insert");
  const int64_t pid = sql::as_int(db->scalar("SELECT pg_backend_pid()", {}, "pid"));
  auto other = sql::open_database(same_schema_location(*db));
  CHECK(other->scalar("SELECT pg_terminate_backend(?1::int4)", {pid}, "kill") == value{int64_t{1}});
  for (int i = 0; i < 500 && count(*other, "pg_stat_activity WHERE pid = " + std::to_string(pid)) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  // The statement that meets the dead connection fails; the next reconnects,
  // with the same search_path, and re-prepares.
  CHECK_THROWS(db->query("SELECT COUNT(*) FROM t", {}, "count"));
  CHECK(db->scalar("SELECT COUNT(*) FROM t", {}, "count") == value{int64_t{1}});
  db->query("INSERT INTO t (a) VALUES (?1)", {int64_t{2}}, "insert");
  CHECK(count(*db, "t") == 2);
}

TEST_CASE("fresh databases are empty and isolated from each other") {
  auto a = fresh_database(dialect::postgres);
  auto b = fresh_database(dialect::postgres);
  a->exec("CREATE TABLE only_in_a (x BIGINT)", "create");
  CHECK(count(*a, "only_in_a") == 0);
  CHECK_THROWS(count(*b, "only_in_a"));
  b->exec("CREATE TABLE only_in_a (y TEXT)", "create"); // same name, other schema
  b->query("INSERT INTO only_in_a (y) VALUES (?1)", {std::string{"b"}}, "insert");
  CHECK(count(*a, "only_in_a") == 0);
  CHECK(count(*b, "only_in_a") == 1);
}
