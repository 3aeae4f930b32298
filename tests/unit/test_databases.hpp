// Databases for the tests that run on both storage backends.
//
//   for (auto d : test_backends()) {
//     CAPTURE(sql::dialect_name(d));
//     auto db = fresh_database(d);   // empty; private to this test case
//     ...
//   }
//
// SQLite is ":memory:". PostgreSQL is the real server that CTest's fixture
// `pg` starts (tools/pg_test_server.sh; tests/CMakeLists.txt gives the tests
// that need it WEAVER_TEST_PG_DIR, holding the files `uri` and `password`).
// Each fresh_database() gets a brand-new schema as its search_path, so test
// cases (and concurrent test processes) never see each other's tables; the
// schemas are left behind and go when the fixture next starts (--fresh drops
// the database). Without WEAVER_TEST_PG_DIR the PostgreSQL backend throws:
// a missing server is an error, never a silent skip.
//
// To run one such test by hand:
//   tools/pg_test_server.sh start /tmp/pg
//   WEAVER_TEST_PG_DIR=/tmp/pg build/tests/weaver_unit_tests --source-file='*store_test.cpp'
#pragma once

#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "actors/storage/database.hpp"

inline std::vector<weaver::sql::dialect> test_backends() {
  return {weaver::sql::dialect::sqlite, weaver::sql::dialect::postgres};
}

/// The test server's URI (without a password); sets PGPASSWORD for libpq.
inline std::string test_pg_uri() {
  const char* dir = std::getenv("WEAVER_TEST_PG_DIR");
  if (!dir || !*dir)
    throw std::runtime_error(
      "PostgreSQL tests need the pg fixture: run them through ctest, or set "
      "WEAVER_TEST_PG_DIR after tools/pg_test_server.sh start DIR");
  auto first_line = [&](const char* name) {
    std::string path = std::string(dir) + "/" + name;
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty())
      throw std::runtime_error("WEAVER_TEST_PG_DIR: cannot read " + path + " (is tools/pg_test_server.sh start " + dir
                               + " done?)");
    return line;
  };
  const std::string uri = first_line("uri");
  ::setenv("PGPASSWORD", first_line("password").c_str(), 1);
  return uri;
}

/// An empty database for one test case.
inline std::unique_ptr<weaver::sql::database> fresh_database(weaver::sql::dialect d) {
  using namespace weaver;
  if (d == sql::dialect::sqlite) return sql::open_database(":memory:");
  const std::string uri = test_pg_uri();
  // One connection per process creates the schemas.
  static std::unique_ptr<sql::database> admin;
  static unsigned counter = 0;
  static const unsigned salt = std::random_device{}() & 0xffffff;
  if (!admin) admin = sql::open_database(uri);
  const std::string schema =
    "t_" + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" + std::to_string(++counter);
  admin->exec("CREATE SCHEMA " + schema, "create test schema");
  return sql::open_database(uri + (uri.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D"
                            + schema);
}

/// A location that opens another connection to the same database (the same
/// schema on PostgreSQL; PGPASSWORD is already set). Not for ":memory:".
inline std::string same_schema_location(const weaver::sql::database& db) { return db.describe(); }
