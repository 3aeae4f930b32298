// The seed's queries over SQLite give exactly the synthetic history's known
// answers (computed from the walks, without SQL).
#include <doctest/doctest.h>

#include "actors/query/seed_queries.hpp"
#include "actors/query/synthetic_history.hpp"
#include "actors/storage/sqlite_store.hpp"

using namespace weaver;

TEST_CASE("synthetic history: the generator keeps its spec") {
  history_spec s;
  s.people = 500;
  s.start_ms = 1'795'219'200'000;  // 2026-11-21T00:00:00Z
  synthetic_history h{s};
  CHECK(h.rows().size() > 500);
  for (const auto& r : h.rows()) {
    CHECK(r.exit_ms - r.enter_ms >= s.dwell_min_ms);
    CHECK(r.exit_ms - r.enter_ms <= s.dwell_max_ms);
    CHECK(r.person_id >= 1);
    CHECK(r.person_id <= 500);
  }
  // A line graph 1 -> 2 -> 3: nobody walks 1 -> 3 directly or backwards.
  history_spec line = s;
  line.cameras = {1, 2, 3};
  line.edges = {{1, 2}, {2, 3}};
  synthetic_history l{line};
  CHECK(l.transitions(2, 1, INT64_MIN / 2, INT64_MAX / 2, -1) == 0);
  CHECK(l.transitions(1, 2, INT64_MIN / 2, INT64_MAX / 2, -1) > 0);
}

TEST_CASE("synthetic history: SQLite's answers equal the truth") {
  history_spec s;
  s.people = 2000;
  s.days = 2;
  s.start_ms = 1'795'219'200'000;
  s.transit_max_ms = 300'000;
  synthetic_history h{s};
  sqlite_store st{":memory:"};
  presence_batch b;
  b.rows = h.rows();
  st.write(b);
  CHECK(st.presence_count() == h.rows().size());
  int64_t nonzero = 0;
  for (auto [from, to] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 2}, {2, 1}, {3, 4}, {4, 4}})
    for (int64_t max_transit : {60'000, 180'000, -1})
      for (auto [t0, t1] : std::vector<std::pair<timestamp_ms, timestamp_ms>>{
             {s.start_ms, s.start_ms + ms_per_day}, {s.start_ms + 3'600'000, s.start_ms + 7'200'000},
             {INT64_MIN / 2, INT64_MAX / 2}}) {
        CAPTURE(from);
        CAPTURE(to);
        CAPTURE(max_transit);
        CAPTURE(t0);
        auto want = h.transitions(from, to, t0, t1, max_transit);
        nonzero += want > 0;
        CHECK(count_transitions(st.handle(), from, to, t0, t1, max_transit).people == want);
      }
  for (auto day : {s.start_ms, s.start_ms + ms_per_day})
    for (auto set : std::vector<std::vector<uint32_t>>{{1, 2}, {1, 2, 3}, {1, 2, 3, 4}, {2}}) {
      auto want = h.every_camera(set, day);
      nonzero += want > 0;
      CHECK(people_on_every_camera(st.handle(), set, day).people == want);
    }
  CHECK(nonzero > 30);   // the answers compared are mostly not zero
}
