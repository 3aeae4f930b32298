#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

#include <sys/wait.h>
#include <unistd.h>

#include "actors/storage/sqlite_database.hpp"
#include "actors/storage/store.hpp"
#include "test_databases.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "weaver_store_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
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
  b.rows = {{100, 1, 1'000, 2'000}, {100, 2, 3'000, 4'000}, {101, 2, 3'500, 5'000}};
  return b;
}

// Single integer or text answer of a statement, for peeking at the schema.
std::string scalar(sqlite3* db, const std::string& text) {
  auto s = sql::prepare(db, text, "test");
  if (sqlite3_step(s.get()) != SQLITE_ROW) return "";
  auto t = sqlite3_column_text(s.get(), 0);
  return t ? reinterpret_cast<const char*>(t) : "";
}

bool has_object(sqlite3* db, const char* type, const char* name) {
  auto s = sql::prepare(db, "SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name = ?2", "test");
  sqlite3_bind_text(s.get(), 1, type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, name, -1, SQLITE_TRANSIENT);
  return sqlite3_step(s.get()) == SQLITE_ROW && sqlite3_column_int(s.get(), 0) == 1;
}

// A store on a SQLite file, with the raw handle for peeking at the schema.
struct sqlite_file_store {
  sql::sqlite_database* raw;
  store st;
  explicit sqlite_file_store(const std::string& path)
    : sqlite_file_store(std::make_unique<sql::sqlite_database>(path)) {}
  explicit sqlite_file_store(std::unique_ptr<sql::sqlite_database> db) : raw(db.get()), st(std::move(db)) {}
  sqlite3* handle() { return raw->handle(); }
};

// Two connections to one new, empty database of a backend (a file in `dir`
// for SQLite, one schema for PostgreSQL).
std::pair<std::unique_ptr<sql::database>, std::unique_ptr<sql::database>> two_connections(sql::dialect d,
                                                                                          const temp_dir& dir) {
  if (d == sql::dialect::sqlite)
    return {sql::open_database(dir.file("two.db")), sql::open_database(dir.file("two.db"))};
  auto a = fresh_database(d);
  auto b = sql::open_database(same_schema_location(*a));
  return {std::move(a), std::move(b)};
}

// Runs `body` on a fresh, empty store of each backend.
template <class F>
void on_each_backend(F&& body) {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    store st{fresh_database(d)};
    body(st);
  }
}

} // namespace

TEST_SUITE("store") {
  TEST_CASE("a fresh file is migrated to the latest schema in WAL mode") {
    temp_dir dir;
    sqlite_file_store f(dir.file("w.db"));
    auto& st = f.st;
    CHECK(st.schema_version() == store::latest_schema_version);
    CHECK(scalar(f.handle(), "PRAGMA journal_mode") == "wal");
    CHECK(scalar(f.handle(), "PRAGMA synchronous") == "1"); // NORMAL
    CHECK(scalar(f.handle(), "PRAGMA busy_timeout") != "0");
    for (auto t : {"people_present", "identities", "cameras", "schema_version", "person_merges", "zones", "zone_visits",
                   "events", "tracklets", "resolved_windows", "evidence_crops", "live_frames"})
      CHECK_MESSAGE(has_object(f.handle(), "table", t), t);
    for (auto i : {"people_present_key", "people_present_camera_person", "people_present_enter",
                   "zone_visits_zone_enter", "zone_visits_enter", "zone_visits_exit"})
      CHECK_MESSAGE(has_object(f.handle(), "index", i), i);
    // Dropped in v3: the key's prefix and the covering index serve them.
    CHECK_FALSE(has_object(f.handle(), "index", "people_present_person_enter"));
    CHECK_FALSE(has_object(f.handle(), "index", "people_present_camera_enter"));
    CHECK(st.presence_count() == 0);
    CHECK(st.identity_count() == 0);
    CHECK(st.person_count() == 0);
  }

  TEST_CASE("the seed's people_present columns, in order") {
    on_each_backend([](store& st) {
      auto& db = st.db();
      std::string cols;
      if (db.kind() == sql::dialect::sqlite) {
        for (auto& r : db.query("PRAGMA table_info(people_present)", {}, "t"))
          cols += sql::as_text(r[1]) + " " + sql::as_text(r[2]) + (sql::as_int(r[3]) ? " NN," : ",");
        CHECK(cols == "person_id INTEGER NN,camera_id INTEGER NN,enter INTEGER NN,exit INTEGER NN,");
      } else {
        for (auto& r : db.query("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                                "WHERE table_name = 'people_present' AND table_schema = current_schema() "
                                "ORDER BY ordinal_position",
                                {}, "t"))
          cols += sql::as_text(r[0]) + " " + sql::as_text(r[1]) + (sql::as_text(r[2]) == "NO" ? " NN," : ",");
        CHECK(cols == "person_id bigint NN,camera_id bigint NN,enter bigint NN,exit bigint NN,");
      }
    });
  }

  TEST_CASE("reopening an existing file keeps rows and does not re-migrate") {
    temp_dir dir;
    auto path = dir.file("r.db");
    {
      sqlite_file_store f(path);
      f.st.write(sample_batch());
      f.st.upsert_camera(1, "shoes", "ground floor");
    }
    sqlite_file_store f(path);
    auto& st = f.st;
    CHECK(st.schema_version() == store::latest_schema_version);
    CHECK(scalar(f.handle(), "SELECT count(*) FROM schema_version") == std::to_string(store::latest_schema_version));
    CHECK(st.presence_rows() == sample_batch().rows);
    CHECK(st.identity_count() == 3);
    CHECK(st.person_count() == 2);
    CHECK(scalar(f.handle(), "SELECT name FROM cameras WHERE camera_id = 1") == "shoes");
    CHECK(scalar(f.handle(), "PRAGMA journal_mode") == "wal");
  }

  TEST_CASE("a version 2 SQLite file (before zones and events) is migrated in place") {
    temp_dir dir;
    auto path = dir.file("v2.db");
    {
      // Exactly what a build of schema version 2 left behind.
      sqlite3* raw = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
      sql::db_ptr db(raw);
      sql::exec(raw,
                "CREATE TABLE schema_version(version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);"
                "CREATE TABLE people_present(person_id INTEGER NOT NULL, camera_id INTEGER NOT NULL,"
                "  enter INTEGER NOT NULL, exit INTEGER NOT NULL);"
                "CREATE UNIQUE INDEX people_present_key ON people_present(person_id, camera_id, enter);"
                "CREATE INDEX people_present_camera_enter ON people_present(camera_id, enter);"
                "CREATE INDEX people_present_person_enter ON people_present(person_id, enter);"
                "CREATE TABLE identities(camera_id INTEGER, track_id INTEGER, person_id INTEGER,"
                "  confidence REAL, PRIMARY KEY(camera_id, track_id));"
                "CREATE TABLE cameras(camera_id INTEGER PRIMARY KEY, name TEXT, zone TEXT);"
                "CREATE TABLE person_merges(from_id INTEGER PRIMARY KEY, into_id INTEGER NOT NULL);"
                "INSERT INTO schema_version VALUES(1, 0), (2, 0);"
                "INSERT INTO people_present VALUES(5, 1, 1000, 2000);",
                "setup");
    }
    sqlite_file_store f(path);
    CHECK(f.st.schema_version() == store::latest_schema_version);
    CHECK(f.st.presence_count() == 1);
    CHECK(has_object(f.handle(), "table", "events"));
    CHECK(has_object(f.handle(), "table", "zone_visits"));
  }

  TEST_CASE("a version 4 SQLite file (before pictures in the store) is migrated in place, its rows kept") {
    temp_dir dir;
    auto path = dir.file("v4.db");
    {
      // What a build of schema version 4 left: versions 1..4 applied, no
      // picture tables (the crops were files beside the store then).
      sqlite_file_store f(path);
      f.st.write(sample_batch());
      f.st.upsert_camera(1, "shoes", "ground floor");
      sql::exec(f.handle(),
                "DROP TABLE evidence_crops; DROP TABLE live_frames; DELETE FROM schema_version WHERE version = 5",
                "setup");
      REQUIRE(scalar(f.handle(), "SELECT max(version) FROM schema_version") == "4");
    }
    sqlite_file_store f(path);
    CHECK(f.st.schema_version() == store::latest_schema_version);
    CHECK(store::latest_schema_version == 5);
    CHECK(has_object(f.handle(), "table", "evidence_crops"));
    CHECK(has_object(f.handle(), "table", "live_frames"));
    CHECK(has_object(f.handle(), "index", "evidence_crops_time"));
    CHECK(f.st.presence_rows() == sample_batch().rows);
    CHECK(scalar(f.handle(), "SELECT name FROM cameras WHERE camera_id = 1") == "shoes");
    // The new tables take a picture's bytes.
    sql::exec(f.handle(), "INSERT INTO evidence_crops VALUES(1, 10, 1000, x'ffd8ffd9')", "test");
    CHECK(scalar(f.handle(), "SELECT length(jpeg) FROM evidence_crops") == "4");
  }

  TEST_CASE("a version 4 PostgreSQL store (before pictures in the store) is migrated in place, its rows kept") {
    auto db = fresh_database(sql::dialect::postgres);
    const std::string where = same_schema_location(*db);
    {
      // What a build of schema version 4 left: no picture tables.
      store old{std::move(db)};
      old.write(sample_batch());
      old.upsert_camera(1, "shoes", "ground floor");
      old.db().exec("DROP TABLE evidence_crops; DROP TABLE live_frames; DELETE FROM schema_version WHERE version = 5",
                    "setup");
      REQUIRE(sql::as_int(old.db().query("SELECT max(version) FROM schema_version", {}, "test")[0][0]) == 4);
    }
    store st{sql::open_database(where)};
    CHECK(st.schema_version() == 5);
    auto tables = st.db().query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = "
      "current_schema() AND table_name IN ('evidence_crops', 'live_frames')",
      {}, "test");
    CHECK(tables.size() == 2);
    CHECK(st.presence_rows() == sample_batch().rows);
    auto name = st.db().query("SELECT name FROM cameras WHERE camera_id = 1", {}, "test");
    REQUIRE(name.size() == 1);
    CHECK(sql::as_text(name[0][0]) == "shoes");
    // The new tables take a picture's bytes.
    st.db().query("INSERT INTO evidence_crops VALUES(1, 10, 1000, ?1)", {sql::blob{std::string("\xff\xd8\xff\xd9", 4)}},
                  "test");
    CHECK(sql::as_int(st.db().query("SELECT length(jpeg) FROM evidence_crops", {}, "test")[0][0]) == 4);
  }

  TEST_CASE("an existing database without schema_version is migrated") {
    temp_dir dir;
    auto path = dir.file("old.db");
    {
      sqlite3* raw = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
      sql::db_ptr db(raw);
      sql::exec(raw, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES('a')", "setup");
    }
    sqlite_file_store f(path);
    CHECK(f.st.schema_version() == store::latest_schema_version);
    CHECK(has_object(f.handle(), "table", "people_present"));
    CHECK(scalar(f.handle(), "SELECT x FROM notes") == "a");
  }

  TEST_CASE("a database from a newer build is refused") {
    temp_dir dir;
    auto path = dir.file("new.db");
    { sqlite_file_store f(path); }
    {
      sqlite3* raw = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
      sql::db_ptr db(raw);
      sql::exec(raw, "INSERT INTO schema_version VALUES(99, 0)", "setup");
    }
    try {
      store::open(path);
      FAIL("expected an exception");
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      CHECK(what.find("storage: sqlite:" + path) == 0);
      CHECK(what.find("99") != std::string::npos);
    }
  }

  TEST_CASE("two connections migrating the same new store at once both succeed") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      temp_dir dir;
      auto conns = two_connections(d, dir);
      auto& a = conns.first;
      auto& b = conns.second;
      std::unique_ptr<store> sa, sb;
      std::thread other([&] { sb = std::make_unique<store>(std::move(b)); });
      sa = std::make_unique<store>(std::move(a));
      other.join();
      CHECK(sa->schema_version() == store::latest_schema_version);
      CHECK(sb->schema_version() == store::latest_schema_version);
    }
  }

  TEST_CASE("processes opening the same new SQLite file at once all succeed") {
    // Storage and query in one pod open one new file at the same moment, in
    // two processes (threads share SQLite's locks, so the test above cannot
    // show this): the switch to WAL and the migration must tolerate it.
    constexpr int rounds = 40, procs = 4;
    int failures = 0;
    std::string last_error;
    for (int round = 0; round < rounds; ++round) {
      temp_dir dir;
      const std::string path = (dir.path / "weaver.db").string();
      int go[2], errs[2];
      REQUIRE(pipe(go) == 0);
      REQUIRE(pipe(errs) == 0);
      std::vector<pid_t> kids;
      for (int i = 0; i < procs; ++i) {
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
          close(go[1]);
          char c;
          (void)!read(go[0], &c, 1); // all start together when the pipe closes
          int code = 0;
          try {
            auto st = store::open(path);
            if (st->schema_version() != store::latest_schema_version) code = 2;
          } catch (const std::exception& e) {
            std::string what = std::string(e.what()) + "\n";
            (void)!write(errs[1], what.data(), what.size());
            code = 1;
          }
          _exit(code);
        }
        kids.push_back(pid);
      }
      close(go[0]);
      close(errs[1]);
      close(go[1]);
      for (pid_t pid : kids) {
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
      }
      char buf[512];
      ssize_t n;
      while ((n = read(errs[0], buf, sizeof buf)) > 0) last_error.assign(buf, static_cast<size_t>(n));
      close(errs[0]);
    }
    CAPTURE(last_error);
    CHECK(failures == 0);
  }

  TEST_CASE("writing the same batch twice leaves one set of rows") {
    on_each_backend([](store& st) {
      st.write(sample_batch());
      st.write(sample_batch());
      CHECK(st.presence_count() == 3);
      CHECK(st.identity_count() == 3);
      CHECK(st.person_count() == 2);
      CHECK(st.presence_rows() == sample_batch().rows);
    });
  }

  TEST_CASE("a re-sent interval keeps the largest exit") {
    on_each_backend([](store& st) {
      presence_batch b;
      b.rows = {{7, 1, 1'000, 2'000}};
      st.write(b);
      b.rows[0].exit_ms = 3'000; // the same visit, seen longer
      st.write(b);
      b.rows[0].exit_ms = 1'500; // a stale re-delivery never shortens it
      st.write(b);
      REQUIRE(st.presence_count() == 1);
      CHECK(st.presence_rows()[0].exit_ms == 3'000);
    });
  }

  TEST_CASE("the last identity of a track wins") {
    on_each_backend([](store& st) {
      presence_batch b;
      b.identities = {{1, 10, 100, 0.5f}};
      st.write(b);
      b.identities = {{1, 10, 200, 0.75f}};
      st.write(b);
      auto ids = st.identity_rows();
      REQUIRE(ids.size() == 1);
      CHECK(ids[0].person_id == 200);
      CHECK(ids[0].confidence == doctest::Approx(0.75));
    });
  }

  TEST_CASE("rows come back ordered by person, camera, enter") {
    on_each_backend([](store& st) {
      presence_batch b;
      b.rows = {{2, 1, 50, 60}, {1, 2, 10, 20}, {1, 1, 30, 40}, {1, 1, 5, 8}};
      st.write(b);
      std::vector<presence> want = {{1, 1, 5, 8}, {1, 1, 30, 40}, {1, 2, 10, 20}, {2, 1, 50, 60}};
      CHECK(st.presence_rows() == want);
    });
  }

  TEST_CASE("large ids and times round-trip") {
    on_each_backend([](store& st) {
      presence_batch b;
      b.identities = {{4'000'000'000u, 0xFFFF'FFFF'FFFF'FFF0ull, 0x8000'0000'0000'0001ull, 1}};
      b.rows = {{0x8000'0000'0000'0001ull, 4'000'000'000u, 1'709'596'800'123, 1'709'596'900'456}};
      st.write(b);
      CHECK(st.presence_rows() == b.rows);
      auto ids = st.identity_rows();
      REQUIRE(ids.size() == 1);
      CHECK(ids[0].camera_id == 4'000'000'000u);
      CHECK(ids[0].track_id == 0xFFFF'FFFF'FFFF'FFF0ull);
      CHECK(ids[0].person_id == 0x8000'0000'0000'0001ull);
    });
  }

  TEST_CASE("a big batch is one fast transaction") {
    on_each_backend([](store& st) {
      presence_batch b;
      for (uint64_t i = 0; i < 20'000; ++i)
        b.rows.push_back({i % 500, static_cast<uint32_t>(i % 7), static_cast<timestamp_ms>(i * 10),
                          static_cast<timestamp_ms>(i * 10 + 5)});
      st.write(b);
      st.write(b);
      CHECK(st.presence_count() == 20'000);
      CHECK(st.person_count() == 500);
    });
  }

  TEST_CASE("upsert_camera renames in place") {
    on_each_backend([](store& st) {
      st.upsert_camera(3, "entrance", "lobby");
      st.upsert_camera(3, "main entrance", "lobby");
      CHECK(sql::as_int(st.db().scalar("SELECT count(*) FROM cameras", {}, "t")) == 1);
      CHECK(sql::as_text(st.db().scalar("SELECT name || '/' || zone FROM cameras", {}, "t")) == "main entrance/lobby");
    });
  }

  TEST_CASE("an empty batch is a no-op") {
    on_each_backend([](store& st) {
      st.write({});
      CHECK(st.presence_count() == 0);
    });
  }

  TEST_CASE("a bad path gives a clear error") {
    std::string path = "/nonexistent_weaver_dir/x/y.db";
    try {
      store::open(path);
      FAIL("expected an exception");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "storage: cannot open " + path + ": open: unable to open database file");
    }
  }

  TEST_CASE("only a file that is not SQLite at all is taken for one --reset may replace") {
    temp_dir dir;
    const std::string path = (dir.path / "x.db").string();
    CHECK(sql::looks_like_sqlite_file(path)); // missing: a new store
    std::ofstream(path).close();
    CHECK(sql::looks_like_sqlite_file(path)); // empty: SQLite takes it as a new database
    store::open(path).reset();
    CHECK(sql::looks_like_sqlite_file(path));
    std::ofstream(path, std::ios::trunc) << "SQLite format 3"; // cut short: no NUL
    CHECK_FALSE(sql::looks_like_sqlite_file(path));
    std::ofstream(path, std::ios::trunc) << "a text file that happens to be long";
    CHECK_FALSE(sql::looks_like_sqlite_file(path));
  }

  TEST_CASE("a file that is not a database gives a clear error") {
    temp_dir dir;
    auto path = dir.file("junk.db");
    {
      std::ofstream out(path, std::ios::binary);
      for (int i = 0; i < 200; ++i) out << "this is not an sqlite database, just text\n";
    }
    try {
      store::open(path);
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
    auto st = store::open(path);
    st->write(sample_batch());
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sql::db_ptr reader(raw);
    CHECK(scalar(raw, "SELECT count(*) FROM people_present") == "3");
  }

  TEST_CASE("merges move a person's rows and identities, and later rows under the old id follow") {
    on_each_backend([](store& st) {
      st.write(sample_batch()); // persons 100 and 101
      event_row alert;
      alert.kind = "loitering";
      alert.zone = "till";
      alert.person_id = 101;
      alert.detail = "{}";
      alert.dedup = "merge-test";
      st.add_event(alert);
      presence_batch m;
      m.merges = {{101, 100}};
      st.write(m);
      CHECK(st.event_rows().at(0).person_id == std::optional<uint64_t>{100});
      st.write(m); // re-sent: nothing changes
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
    });
  }

  TEST_CASE("two writers: a merge racing another writer's batches leaves no row under the merged id") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      temp_dir dir;
      auto [a, b] = two_connections(d, dir);
      store writer{std::move(a)}, merger{std::move(b)};
      std::thread rows([&] {
        for (int64_t i = 0; i < 300; ++i) {
          presence_batch batch;
          batch.rows = {{7, 1, i * 1000, i * 1000 + 500}};
          writer.write(batch);
        }
      });
      presence_batch m;
      m.merges = {{7, 8}};
      for (int i = 0; i < 20; ++i) {
        merger.write(m); // re-sent merges are harmless; one of them lands mid-stream
        std::this_thread::sleep_for(std::chrono::milliseconds{2});
      }
      rows.join();
      auto all = writer.presence_rows();
      CHECK(all.size() == 300);
      for (auto& r : all) CHECK(r.person_id == 8);
    }
  }

  TEST_CASE("zone visits: open then closed, never reopened by a re-sent open one") {
    on_each_backend([](store& st) {
      presence_batch b;
      b.zone_visits = {{1, 7, "till", 1'000, -1}};
      st.write(b);
      CHECK(st.zone_visit_rows() == b.zone_visits);
      presence_batch closed;
      closed.zone_visits = {{1, 7, "till", 1'000, 5'000}};
      st.write(closed);
      st.write(b); // a late re-delivery of the entry
      REQUIRE(st.zone_visit_rows().size() == 1);
      CHECK(st.zone_visit_rows()[0].exit_ms == 5'000);
    });
  }

  TEST_CASE("events are stored once per dedup key, with increasing ids") {
    on_each_backend([](store& st) {
      event_row e;
      e.kind = "loitering";
      e.camera_id = 2;
      e.zone = "till";
      e.track_id = 9;
      e.time_ms = 5'000;
      e.detail = R"({"dwell_s":30})";
      e.dedup = "a";
      auto first = st.add_event(e);
      REQUIRE(first);
      CHECK_FALSE(st.add_event(e));
      e.dedup = "b";
      e.track_id.reset();
      e.person_id = 0x8000'0000'0000'0001ull;
      auto second = st.add_event(e);
      REQUIRE(second);
      CHECK(*second > *first);
      auto rows = st.event_rows();
      REQUIRE(rows.size() == 2);
      CHECK(rows[0].track_id == std::optional<uint64_t>{9});
      CHECK_FALSE(rows[0].person_id);
      CHECK(rows[1].person_id == std::optional<uint64_t>{0x8000'0000'0000'0001ull});
      CHECK_FALSE(rows[1].track_id);
      CHECK(rows[1].detail == R"({"dwell_s":30})");
      CHECK(st.event_rows(*first).size() == 1);
    });
  }

  TEST_CASE("retention deletes what ended before the cutoff, and nothing else") {
    on_each_backend([](store& st) {
      presence_batch b;
      b.rows = {{1, 1, 100, 200}, {1, 2, 300, 400}, {2, 1, 150, 1'000}};
      b.zone_visits = {{1, 5, "z", 100, 200}, {1, 6, "z", 100, -1}};
      st.write(b);
      event_row e;
      e.kind = "crowding";
      e.zone = "z";
      e.time_ms = 250;
      e.detail = "{}";
      e.dedup = "x";
      st.add_event(e);
      // Ended before 350: one presence, the closed visit, the event.
      CHECK(st.delete_older_than(350) == 3);
      std::vector<presence> left{{1, 2, 300, 400}, {2, 1, 150, 1'000}};
      CHECK(st.presence_rows() == left);
      REQUIRE(st.zone_visit_rows().size() == 1);
      CHECK(st.zone_visit_rows()[0].exit_ms < 0); // still inside: kept
      CHECK(st.event_rows().empty());
      CHECK(st.delete_older_than(350) == 0);
    });
  }

  TEST_CASE("clear empties every table and keeps the schema") {
    on_each_backend([](store& st) {
      st.write(sample_batch());
      st.upsert_zone(1, "till");
      st.clear();
      CHECK(st.presence_count() == 0);
      CHECK(st.identity_count() == 0);
      CHECK(st.schema_version() == store::latest_schema_version);
      st.write(sample_batch());
      CHECK(st.presence_count() == 3);
    });
  }

  TEST_CASE("replace_zones makes a camera's zones exactly the given names, other cameras untouched") {
    on_each_backend([](store& st) {
      st.upsert_zone(1, "till");
      st.upsert_zone(1, "door");
      st.upsert_zone(2, "display");
      st.replace_zones(1, {"door", "aisle"});
      auto rows = st.db().query("SELECT camera_id, name FROM zones ORDER BY camera_id, name", {}, "test");
      std::vector<std::string> got;
      for (auto& r : rows) got.push_back(std::to_string(sql::as_int(r[0])) + ":" + sql::as_text(r[1]));
      CHECK(got == std::vector<std::string>{"1:aisle", "1:door", "2:display"});
      st.replace_zones(2, {});
      CHECK(st.db().query("SELECT name FROM zones WHERE camera_id = 2", {}, "test").empty());
    });
  }

  namespace {

  tracklet track_of(uint32_t cam, uint64_t track, uint64_t person, timestamp_ms enter, timestamp_ms exit) {
    tracklet t;
    t.camera_id = cam;
    t.track_id = track;
    t.person_id = person;
    t.enter_ms = enter;
    t.exit_ms = exit;
    t.entry_box = {1.5f, 2, 30, 60};
    t.exit_box = {300, 4.25f, 31, 62};
    t.confidence = 0.5f;
    t.feature = {127, -128, 0, 5, -1}; // every byte value's edge, base64 padding of 1
    return t;
  }

  // A batch as re-id sends it: identity, presence row and tracklet per track.
  presence_batch tracked(const std::vector<tracklet>& ts) {
    presence_batch b;
    for (const auto& t : ts) {
      b.identities.push_back({t.camera_id, t.track_id, t.person_id, t.confidence});
      b.rows.push_back({t.person_id, t.camera_id, t.enter_ms, t.exit_ms});
      b.tracklets.push_back(t);
    }
    return b;
  }

  } // namespace

  TEST_CASE("tracklets round-trip by exit window, follow merges, and go with retention") {
    on_each_backend([](store& st) {
      auto a = track_of(1, 10, 100, 1'000, 2'000), b = track_of(2, 11, 101, 3'000, 4'000),
           c = track_of(1, 12, 102, 5'000, 6'000);
      b.feature = {1, 2, 3, 4}; // padding of 2
      c.feature.clear();
      st.write(tracked({a, b, c}));
      CHECK(st.tracklet_rows(0, 10'000) == std::vector<tracklet>{a, b, c});
      CHECK(st.tracklet_rows(2'000, 6'000) == std::vector<tracklet>{a, b}); // exit in [since, until)
      CHECK(st.first_tracklet_exit() == std::optional<timestamp_ms>{2'000});
      CHECK(st.last_tracklet_exit() == std::optional<timestamp_ms>{6'000});
      presence_batch m;
      m.merges = {{101, 100}};
      st.write(m);
      CHECK(st.tracklet_rows(3'000, 5'000).at(0).person_id == 100);
      // A re-sent tracklet under the merged id lands on the survivor.
      st.write(tracked({b}));
      CHECK(st.tracklet_rows(3'000, 5'000).at(0).person_id == 100);
      st.apply_resolution({}, {}, {0, 3'000, 0, 1, 0});
      CHECK(st.delete_older_than(4'500) == 2 + 2 + 1); // presences, tracklets, the window
      CHECK(st.tracklet_rows(0, 10'000) == std::vector<tracklet>{c});
      CHECK(st.resolved_windows().empty());
    });
  }

  TEST_CASE("resolution moves tracks and merges people consistently, and records the window") {
    on_each_backend([](store& st) {
      // Online: person 1 on cameras 1 and 2 (the second wrongly), person 2 a
      // piece of person 3.
      auto t1 = track_of(1, 1, 1, 1'000, 5'000), t2 = track_of(2, 1, 1, 2'000, 6'000),
           t3 = track_of(3, 1, 2, 20'000, 25'000), t4 = track_of(1, 2, 3, 10'000, 15'000);
      st.write(tracked({t1, t2, t3, t4}));
      CHECK_FALSE(st.is_resolved(0, 30'000));
      CHECK_FALSE(st.resolved_until());
      const uint64_t fresh = st.next_resolved_id();
      CHECK(fresh == resolved_id_base);
      CHECK(st.apply_resolution({{2, 1, fresh}}, {{2, 3}}, {0, 30'000, 0, 4, 0}) == 2);
      // Presence rows, identities and tracklets agree.
      std::vector<presence> rows{
        {3, 1, 10'000, 15'000}, {3, 3, 20'000, 25'000}, {1, 1, 1'000, 5'000}, {fresh, 2, 2'000, 6'000}};
      std::sort(rows.begin(), rows.end(), [](const presence& x, const presence& y) {
        return std::tie(x.person_id, x.camera_id, x.enter_ms) < std::tie(y.person_id, y.camera_id, y.enter_ms);
      });
      CHECK(st.presence_rows() == rows);
      std::map<std::pair<uint32_t, uint64_t>, uint64_t> want{{{1, 1}, 1}, {{1, 2}, 3}, {{2, 1}, fresh}, {{3, 1}, 3}};
      for (const auto& i : st.identity_rows()) CHECK(want.at({i.camera_id, i.track_id}) == i.person_id);
      for (const auto& t : st.tracklet_rows(0, 30'000)) CHECK(want.at({t.camera_id, t.track_id}) == t.person_id);
      CHECK(st.next_resolved_id() == fresh + 1);
      // Recorded: the window and what changed.
      REQUIRE(st.resolved_windows().size() == 1);
      CHECK(st.resolved_windows()[0].moved == 2);
      CHECK(st.resolved_windows()[0].tracklets == 4);
      CHECK(st.is_resolved(0, 30'000));
      CHECK(st.is_resolved(5'000, 10'000));
      CHECK_FALSE(st.is_resolved(5'000, 40'000));
      CHECK(st.resolved_until() == std::optional<timestamp_ms>{30'000});
      // Late rows under the merged id follow it; resolving again is harmless.
      presence_batch late;
      late.rows = {{2, 4, 40'000, 41'000}};
      st.write(late);
      for (const auto& r : st.presence_rows())
        if (r.camera_id == 4) CHECK(r.person_id == 3);
      CHECK(st.apply_resolution({{2, 1, fresh}}, {{2, 3}}, {0, 30'000, 0, 4, 0}) == 1);
      CHECK(st.resolved_windows().size() == 1);
    });
  }

  TEST_CASE("resolution: two tracks entering one camera at the same time keep a presence row each after a swap") {
    on_each_backend([](store& st) {
      // Online: track 1 (person 7) and track 2 (person 2) both entered camera 3
      // at 1 s; the pass swaps their people.
      auto t1 = track_of(3, 1, 7, 1'000, 1'500), t2 = track_of(3, 2, 2, 1'000, 3'000);
      st.write(tracked({t1, t2}));
      st.apply_resolution({{3, 1, 2}, {3, 2, 7}}, {}, {0, 10'000, 0, 2, 0});
      std::vector<presence> rows{{2, 3, 1'000, 1'500}, {7, 3, 1'000, 3'000}};
      CHECK(st.presence_rows() == rows);
      // One person on both (a row shared by two tracks), one of them moved out.
      auto t3 = track_of(4, 1, 9, 5'000, 5'500), t4 = track_of(4, 2, 9, 5'000, 8'000);
      st.write(tracked({t3, t4}));
      st.apply_resolution({{4, 1, 10}}, {}, {0, 10'000, 0, 2, 0});
      rows = {{2, 3, 1'000, 1'500}, {7, 3, 1'000, 3'000}, {9, 4, 5'000, 8'000}, {10, 4, 5'000, 5'500}};
      CHECK(st.presence_rows() == rows);
    });
  }

} // TEST_SUITE
