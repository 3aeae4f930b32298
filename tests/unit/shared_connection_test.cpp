// The storage and query roles of one process on one connection: an
// in-memory store is seen by both, and their use from two threads is safe.
#include <doctest/doctest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "actors/query/query_actor.hpp"
#include "actors/storage/shared_connection.hpp"
#include "actors/storage/store.hpp"

using namespace weaver;

namespace {

presence_batch one_row(uint64_t person) {
  presence_batch b;
  b.identities.push_back({1, person, person, 0.9f});
  b.rows.push_back({person, 1, 1000 * static_cast<int64_t>(person), 1000 * static_cast<int64_t>(person) + 500});
  return b;
}

} // namespace

TEST_CASE("shared connection: an in-memory store written by storage is the one the query role reads") {
  // Two connections by path (what the query actor did) are two databases.
  auto a = store::open(":memory:");
  auto b = store::open(":memory:");
  a->upsert_camera(1, "door", "entrance");
  CHECK(nlohmann::json::parse(answer_query(b->db(), {1, "cameras", {}}, {}).json)["total"] == 0);

  sql::shared_connection conn(sql::open_database(":memory:"));
  store storage(conn.handle());
  store query(conn.handle());
  storage.upsert_camera(1, "door", "entrance");
  storage.write(one_row(7));
  auto cams = nlohmann::json::parse(answer_query(query.db(), {1, "cameras", {}}, {}).json);
  CHECK(cams["total"] == 1);
  CHECK(query.presence_count() == 1);
}

TEST_CASE("shared connection: a writer's transactions and a reader on two threads take turns") {
  sql::shared_connection conn(sql::open_database(":memory:"));
  store storage(conn.handle());
  store query(conn.handle());
  storage.upsert_camera(1, "door", "entrance");
  constexpr uint64_t n = 200;
  std::thread writer([&] {
    for (uint64_t p = 1; p <= n; ++p) storage.write(one_row(p));
  });
  size_t last = 0;
  bool monotonic = true;
  for (int i = 0; i < 400; ++i) {
    auto c = query.presence_count();
    monotonic = monotonic && c >= last;
    last = c;
  }
  writer.join();
  CHECK(monotonic);
  CHECK(query.presence_count() == n);
}
