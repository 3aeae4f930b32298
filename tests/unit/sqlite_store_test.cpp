#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "actors/storage/sqlite_store.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "weaver_store_XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const char* name) const { return (path / name).string(); }
};

presence_batch sample_batch() {
  presence_batch b;
  b.identities = {{1, 10, 100, 0.9f}, {2, 20, 100, 0.8f}, {2, 21, 101, 0.7f}};
  b.rows = {{100, 1, 1'000, 2'000},
            {100, 2, 3'000, 4'000},
            {101, 2, 3'500, 5'000}};
  return b;
}

// Single integer or text answer of a statement, for peeking at the schema.
std::string scalar(sqlite3* db, const std::string& text) {
  auto s = sql::prepare(db, text, "test");
  if (sqlite3_step(s.get()) != SQLITE_ROW)
    return "";
  auto t = sqlite3_column_text(s.get(), 0);
  return t ? reinterpret_cast<const char*>(t) : "";
}

bool has_object(sqlite3* db, const char* type, const char* name) {
  auto s = sql::prepare(
    db, "SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name = ?2",
    "test");
  sqlite3_bind_text(s.get(), 1, type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, name, -1, SQLITE_TRANSIENT);
  return sqlite3_step(s.get()) == SQLITE_ROW
         && sqlite3_column_int(s.get(), 0) == 1;
}

} // namespace

TEST_SUITE("sqlite_store") {

TEST_CASE("a fresh file is migrated to the latest schema in WAL mode") {
  temp_dir dir;
  sqlite_store st(dir.file("w.db"));
  CHECK(st.schema_version() == sqlite_store::latest_schema_version);
  CHECK(st.journal_mode() == "wal");
  CHECK(scalar(st.handle(), "PRAGMA synchronous") == "1"); // NORMAL
  CHECK(scalar(st.handle(), "PRAGMA busy_timeout") != "0");
  for (auto t : {"people_present", "identities", "cameras", "schema_version"})
    CHECK_MESSAGE(has_object(st.handle(), "table", t), t);
  for (auto i : {"people_present_key", "people_present_camera_enter",
                 "people_present_person_enter"})
    CHECK_MESSAGE(has_object(st.handle(), "index", i), i);
  CHECK(st.presence_count() == 0);
  CHECK(st.identity_count() == 0);
  CHECK(st.person_count() == 0);
}

TEST_CASE("the seed's people_present columns, in order") {
  sqlite_store st(":memory:");
  auto s = sql::prepare(st.handle(), "PRAGMA table_info(people_present)", "t");
  std::string cols;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    cols += reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1));
    cols += ' ';
    cols += reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 2));
    cols += sqlite3_column_int(s.get(), 3) ? " NN," : ",";
  }
  CHECK(cols == "person_id INTEGER NN,camera_id INTEGER NN,"
                "enter INTEGER NN,exit INTEGER NN,");
}

TEST_CASE("reopening an existing file keeps rows and does not re-migrate") {
  temp_dir dir;
  auto path = dir.file("r.db");
  {
    sqlite_store st(path);
    st.write(sample_batch());
    st.upsert_camera(1, "shoes", "ground floor");
  }
  sqlite_store st(path);
  CHECK(st.schema_version() == sqlite_store::latest_schema_version);
  CHECK(scalar(st.handle(), "SELECT count(*) FROM schema_version")
        == std::to_string(sqlite_store::latest_schema_version));
  CHECK(st.presence_rows() == sample_batch().rows);
  CHECK(st.identity_count() == 3);
  CHECK(st.person_count() == 2);
  CHECK(scalar(st.handle(), "SELECT name FROM cameras WHERE camera_id = 1")
        == "shoes");
  CHECK(st.journal_mode() == "wal");
}

TEST_CASE("an existing database without schema_version is migrated") {
  temp_dir dir;
  auto path = dir.file("old.db");
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    sql::db_ptr db(raw);
    sql::exec(raw, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES('a')",
              "setup");
  }
  sqlite_store st(path);
  CHECK(st.schema_version() == sqlite_store::latest_schema_version);
  CHECK(has_object(st.handle(), "table", "people_present"));
  CHECK(scalar(st.handle(), "SELECT x FROM notes") == "a");
}

TEST_CASE("a database from a newer build is refused") {
  temp_dir dir;
  auto path = dir.file("new.db");
  { sqlite_store st(path); }
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    sql::db_ptr db(raw);
    sql::exec(raw, "INSERT INTO schema_version VALUES(99, 0)", "setup");
  }
  try {
    sqlite_store st(path);
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK(what.find("storage: cannot open " + path) == 0);
    CHECK(what.find("99") != std::string::npos);
  }
}

TEST_CASE("writing the same batch twice leaves one set of rows") {
  sqlite_store st(":memory:");
  st.write(sample_batch());
  st.write(sample_batch());
  CHECK(st.presence_count() == 3);
  CHECK(st.identity_count() == 3);
  CHECK(st.person_count() == 2);
  CHECK(st.presence_rows() == sample_batch().rows);
}

TEST_CASE("a re-sent interval keeps the largest exit") {
  sqlite_store st(":memory:");
  presence_batch b;
  b.rows = {{7, 1, 1'000, 2'000}};
  st.write(b);
  b.rows[0].exit_ms = 3'000;  // the same visit, seen longer
  st.write(b);
  b.rows[0].exit_ms = 1'500;  // a stale re-delivery never shortens it
  st.write(b);
  REQUIRE(st.presence_count() == 1);
  CHECK(st.presence_rows()[0].exit_ms == 3'000);
}

TEST_CASE("the last identity of a track wins") {
  sqlite_store st(":memory:");
  presence_batch b;
  b.identities = {{1, 10, 100, 0.5f}};
  st.write(b);
  b.identities = {{1, 10, 200, 0.75f}};
  st.write(b);
  auto ids = st.identity_rows();
  REQUIRE(ids.size() == 1);
  CHECK(ids[0].person_id == 200);
  CHECK(ids[0].confidence == doctest::Approx(0.75));
}

TEST_CASE("rows come back ordered by person, camera, enter") {
  sqlite_store st(":memory:");
  presence_batch b;
  b.rows = {{2, 1, 50, 60}, {1, 2, 10, 20}, {1, 1, 30, 40}, {1, 1, 5, 8}};
  st.write(b);
  std::vector<presence> want = {
    {1, 1, 5, 8}, {1, 1, 30, 40}, {1, 2, 10, 20}, {2, 1, 50, 60}};
  CHECK(st.presence_rows() == want);
}

TEST_CASE("large ids and times round-trip") {
  sqlite_store st(":memory:");
  presence_batch b;
  b.identities = {{4'000'000'000u, 0xFFFF'FFFF'FFFF'FFF0ull, 0x8000'0000'0000'0001ull, 1}};
  b.rows = {{0x8000'0000'0000'0001ull, 4'000'000'000u,
             1'709'596'800'123, 1'709'596'900'456}};
  st.write(b);
  CHECK(st.presence_rows() == b.rows);
  auto ids = st.identity_rows();
  REQUIRE(ids.size() == 1);
  CHECK(ids[0].camera_id == 4'000'000'000u);
  CHECK(ids[0].track_id == 0xFFFF'FFFF'FFFF'FFF0ull);
  CHECK(ids[0].person_id == 0x8000'0000'0000'0001ull);
}

TEST_CASE("a big batch is one fast transaction") {
  sqlite_store st(":memory:");
  presence_batch b;
  for (uint64_t i = 0; i < 20'000; ++i)
    b.rows.push_back({i % 500, static_cast<uint32_t>(i % 7),
                      static_cast<timestamp_ms>(i * 10),
                      static_cast<timestamp_ms>(i * 10 + 5)});
  st.write(b);
  st.write(b);
  CHECK(st.presence_count() == 20'000);
  CHECK(st.person_count() == 500);
}

TEST_CASE("upsert_camera renames in place") {
  sqlite_store st(":memory:");
  st.upsert_camera(3, "entrance", "lobby");
  st.upsert_camera(3, "main entrance", "lobby");
  CHECK(scalar(st.handle(), "SELECT count(*) FROM cameras") == "1");
  CHECK(scalar(st.handle(), "SELECT name || '/' || zone FROM cameras")
        == "main entrance/lobby");
}

TEST_CASE("an empty batch is a no-op") {
  sqlite_store st(":memory:");
  st.write({});
  CHECK(st.presence_count() == 0);
}

TEST_CASE("a bad path gives a clear error") {
  std::string path = "/nonexistent_weaver_dir/x/y.db";
  try {
    sqlite_store st(path);
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what())
          == "storage: cannot open " + path + ": open: unable to open database file");
  }
}

TEST_CASE("a file that is not a database gives a clear error") {
  temp_dir dir;
  auto path = dir.file("junk.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 200; ++i)
      out << "this is not an sqlite database, just text\n";
  }
  try {
    sqlite_store st(path);
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK(what.find("storage: cannot open " + path + ": ") == 0);
    CHECK(what.find("not a database") != std::string::npos);
  }
}

TEST_CASE("a second connection reads committed rows while the store is open") {
  temp_dir dir;
  auto path = dir.file("c.db");
  sqlite_store st(path);
  st.write(sample_batch());
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr)
          == SQLITE_OK);
  sql::db_ptr reader(raw);
  CHECK(scalar(raw, "SELECT count(*) FROM people_present") == "3");
}

TEST_CASE("merges move a person's rows and identities, and later rows under the old id follow") {
  temp_dir d;
  sqlite_store st{d.file("m.db")};
  st.write(sample_batch());            // persons 100 and 101
  presence_batch m;
  m.merges = {{101, 100}};
  st.write(m);
  st.write(m);                         // re-sent: nothing changes
  auto rows = st.presence_rows();
  REQUIRE(rows.size() == 3);
  for (auto& r : rows) CHECK(r.person_id == 100);
  for (auto& i : st.identity_rows()) CHECK(i.person_id == 100);
  CHECK(st.person_count() == 1);
  // A retried batch that still names 101 lands on 100.
  presence_batch late;
  late.rows = {{101, 3, 9'000, 9'500}};
  late.identities = {{3, 30, 101, 0.5f}};
  st.write(late);
  CHECK(st.person_count() == 1);
  CHECK(st.presence_count() == 4);
  // Chains stay flat: 100 merged into 50 takes 101's rows along.
  presence_batch m2;
  m2.merges = {{100, 50}};
  st.write(m2);
  presence_batch later;
  later.rows = {{101, 4, 10'000, 10'500}};
  st.write(later);
  for (auto& r : st.presence_rows()) CHECK(r.person_id == 50);
}

} // TEST_SUITE
