#include <doctest/doctest.h>

#include <vector>

#include "actors/query/seed_queries.hpp"
#include "actors/storage/store.hpp"
#include "test_databases.hpp"

using namespace weaver;

namespace {

constexpr timestamp_ms day0 = 1'709'596'800'000; // 2024-03-05T00:00:00Z
constexpr int64_t sec = 1000;
constexpr int64_t minute = 60 * sec;
constexpr uint32_t X = 1, Y = 2, Z = 3, W = 4;

// Presence of `person` at `camera` from day0 + a to day0 + b (seconds).
presence at(uint64_t person, uint32_t camera, int64_t a, int64_t b) {
  return {person, camera, day0 + a * sec, day0 + b * sec};
}

// A hand-made history for X -> Y, window [day0, day0 + 1 h).
std::unique_ptr<store> transition_history(sql::dialect d) {
  auto st = std::make_unique<store>(fresh_database(d));
  presence_batch b;
  b.rows = {
    // 1: X then Y, 30 s gap.
    at(1, X, 10, 20),
    at(1, Y, 50, 80),
    // 2: X then Y, 120 s gap: too slow for 60 s, fine for 120 s (inclusive).
    at(2, X, 10, 20),
    at(2, Y, 140, 170),
    // 3: Y first, then X (20 s gap): a Y -> X walk only.
    at(3, Y, 0, 10),
    at(3, X, 30, 40),
    // 4: X -> Y before the window.
    at(4, X, -600, -540),
    at(4, Y, -530, -500),
    // 5: overlapping views of adjacent cameras, ends at Y.
    at(5, X, 100, 200),
    at(5, Y, 150, 300),
    // 6: the Y visit contains the X visit: not a walk either way.
    at(6, Y, 100, 400),
    at(6, X, 200, 300),
    // 7: two X -> Y walks (5 s, 20 s gaps) count once.
    at(7, X, 1000, 1010),
    at(7, Y, 1015, 1020),
    at(7, X, 2000, 2010),
    at(7, Y, 2030, 2040),
    // 8: identical intervals on both cameras: neither direction.
    at(8, X, 500, 600),
    at(8, Y, 500, 600),
    // 9: only X.
    at(9, X, 10, 20),
    // 10: X enters exactly at t1: outside [t0, t1).
    at(10, X, 3600, 3610),
    at(10, Y, 3615, 3620),
    // 11: X enters exactly at t0: inside; Y may end after t1.
    at(11, X, 0, 5),
    at(11, Y, 10, 4000),
    // 12: X -> Z, not Y.
    at(12, X, 10, 20),
    at(12, Z, 25, 30),
  };
  st->write(b);
  return st;
}

// A hand-made history for every camera of {X, Y, Z} on day0.
std::unique_ptr<store> every_camera_history(sql::dialect d) {
  auto st = std::make_unique<store>(fresh_database(d));
  constexpr int64_t day = ms_per_day / sec;
  presence_batch b;
  b.rows = {
    // 20: all three.
    at(20, X, 10, 20),
    at(20, Y, 30, 40),
    at(20, Z, 50, 60),
    // 21: missing Z.
    at(21, X, 10, 20),
    at(21, Y, 30, 40),
    // 22: X and Y today, Z the next day.
    at(22, X, 10, 20),
    at(22, Y, 30, 40),
    at(22, Z, day + 10, day + 20),
    // 23: Z entered 1 ms before midnight: belongs to the previous day.
    at(23, X, 10, 20),
    at(23, Y, 30, 40),
    {23, Z, day0 - 1, day0 + 10 * sec},
    // 24: many rows per camera count as one camera each.
    at(24, X, 10, 20),
    at(24, X, 100, 120),
    at(24, Y, 30, 40),
    at(24, Y, 130, 140),
    at(24, Z, 200, 210),
    // 25: all three plus W.
    at(25, X, 10, 20),
    at(25, Y, 30, 40),
    at(25, Z, 50, 60),
    at(25, W, 70, 80),
    // 26: all three, last one entered at 23:59:59.
    at(26, X, 10, 20),
    at(26, Y, 30, 40),
    at(26, Z, day - 1, day + 30),
  };
  st->write(b);
  return st;
}

using ids = std::vector<uint64_t>;

} // namespace

TEST_SUITE("seed_queries") {
  TEST_CASE("transitions X -> Y within 60 s") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = transition_history(d);
      auto r = count_transitions(st->db(), X, Y, day0, day0 + 60 * minute, 60 * sec);
      CHECK(r.from == X);
      CHECK(r.to == Y);
      CHECK(r.person_ids == ids{1, 5, 7, 11});
      CHECK(r.people == 4);
    }
  }

  TEST_CASE("a single sighting (exit == enter) is no walk's end for transitions; every camera counts it") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = std::make_unique<store>(fresh_database(d));
      presence_batch b;
      b.rows = {
        at(1, X, 10, 10), at(1, Y, 30, 40), at(1, Z, 50, 60), // sighted once on X
        at(2, X, 10, 20), at(2, Y, 30, 30), at(2, Z, 50, 60), // once on Y
        at(3, X, 10, 10), at(3, X, 12, 20), at(3, Y, 30, 40), at(3, Z, 50, 60), // X once, then a visit
        at(4, X, 10, 11), at(4, Y, 30, 31), at(4, Z, 50, 51), // one second each: visits
      };
      st->write(b);
      CHECK(count_transitions(st->db(), X, Y, day0, day0 + 60 * minute, 60 * sec).person_ids == ids{3, 4});
      CHECK(count_transitions(st->db(), Y, Z, day0, day0 + 60 * minute, 60 * sec).person_ids == ids{1, 3, 4});
      CHECK(people_on_every_camera(st->db(), {X, Y, Z}, day0).person_ids == ids{1, 2, 3, 4});
    }
  }

  TEST_CASE("the transit limit is inclusive; negative means none") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = transition_history(d);
      auto t1 = day0 + 60 * minute;
      CHECK(count_transitions(st->db(), X, Y, day0, t1, 119 * sec).person_ids == ids{1, 5, 7, 11});
      CHECK(count_transitions(st->db(), X, Y, day0, t1, 120 * sec).person_ids == ids{1, 2, 5, 7, 11});
      CHECK(count_transitions(st->db(), X, Y, day0, t1, -1).person_ids == ids{1, 2, 5, 7, 11});
      // Zero transit: only overlapping views qualify.
      CHECK(count_transitions(st->db(), X, Y, day0, t1, 0).person_ids == ids{5});
    }
  }

  TEST_CASE("the reverse direction Y -> X") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = transition_history(d);
      auto r = count_transitions(st->db(), Y, X, day0, day0 + 60 * minute, 60 * sec);
      CHECK(r.person_ids == ids{3});
    }
  }

  TEST_CASE("the time window selects by the X visit's enter") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = transition_history(d);
      // A window covering person 4's earlier walk and nothing else.
      CHECK(count_transitions(st->db(), X, Y, day0 - 10 * minute, day0, 60 * sec).person_ids == ids{4});
      // Only person 7's second walk lies in this window.
      CHECK(count_transitions(st->db(), X, Y, day0 + 1500 * sec, day0 + 2500 * sec, 60 * sec).person_ids == ids{7});
      // A window after t1 sees person 10.
      CHECK(count_transitions(st->db(), X, Y, day0 + 60 * minute, day0 + 120 * minute, 60 * sec).person_ids == ids{10});
      // An empty window.
      CHECK(count_transitions(st->db(), X, Y, day0, day0, -1).people == 0);
    }
  }

  TEST_CASE("transitions to another camera and unknown cameras") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = transition_history(d);
      auto t1 = day0 + 60 * minute;
      CHECK(count_transitions(st->db(), X, Z, day0, t1, 60 * sec).person_ids == ids{12});
      CHECK(count_transitions(st->db(), X, 99, day0, t1, -1).people == 0);
    }
  }

  TEST_CASE("transitions on an empty store") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = std::make_unique<store>(fresh_database(d));
      auto r = count_transitions(st->db(), X, Y, 0, day0, -1);
      CHECK(r.people == 0);
      CHECK(r.person_ids.empty());
    }
  }

  TEST_CASE("people on every camera of a set") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = every_camera_history(d);
      auto r = people_on_every_camera(st->db(), {X, Y, Z}, day0);
      CHECK(r.cameras == std::vector<uint32_t>{X, Y, Z});
      CHECK(r.day_start_ms == day0);
      CHECK(r.person_ids == ids{20, 24, 25, 26});
      CHECK(r.people == 4);
    }
  }

  TEST_CASE("every camera: subsets, duplicates and order of the set") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = every_camera_history(d);
      CHECK(people_on_every_camera(st->db(), {Y, X}, day0).person_ids == ids{20, 21, 22, 23, 24, 25, 26});
      auto dup = people_on_every_camera(st->db(), {Z, X, Z, Y, X}, day0);
      CHECK(dup.cameras == std::vector<uint32_t>{X, Y, Z});
      CHECK(dup.person_ids == ids{20, 24, 25, 26});
      CHECK(people_on_every_camera(st->db(), {W}, day0).person_ids == ids{25});
      CHECK(people_on_every_camera(st->db(), {X, Y, Z, W}, day0).person_ids == ids{25});
      CHECK(people_on_every_camera(st->db(), {X, 99}, day0).people == 0);
    }
  }

  TEST_CASE("every camera: other days") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = every_camera_history(d);
      CHECK(people_on_every_camera(st->db(), {Z}, day0 + ms_per_day).person_ids == ids{22});
      CHECK(people_on_every_camera(st->db(), {Z}, day0 - ms_per_day).person_ids == ids{23});
      CHECK(people_on_every_camera(st->db(), {X, Y, Z}, day0 + ms_per_day).people == 0);
    }
  }

  TEST_CASE("every camera: an empty set gives nobody") {
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      auto st = every_camera_history(d);
      auto r = people_on_every_camera(st->db(), {}, day0);
      CHECK(r.people == 0);
      CHECK(r.person_ids.empty());
      CHECK(r.cameras.empty());
    }
  }

  TEST_CASE("utc_day_start floors to midnight UTC") {
    CHECK(utc_day_start(day0) == day0);
    CHECK(utc_day_start(day0 + 1) == day0);
    CHECK(utc_day_start(day0 + ms_per_day - 1) == day0);
    CHECK(utc_day_start(day0 + ms_per_day) == day0 + ms_per_day);
    CHECK(utc_day_start(0) == 0);
    CHECK(utc_day_start(-1) == -ms_per_day);
    CHECK(utc_day_start(-ms_per_day) == -ms_per_day);
  }

  TEST_CASE("results as JSON") {
    transition_result t{X, Y, 2, {1, 0xFFFF'FFFF'FFFF'FFFFull}};
    auto j = to_json(t);
    CHECK(j["from"] == X);
    CHECK(j["to"] == Y);
    CHECK(j["people"] == 2);
    CHECK(j["person_ids"][1].get<uint64_t>() == 0xFFFF'FFFF'FFFF'FFFFull);

    every_camera_result e{{X, Y, Z}, day0, 1, {20}};
    auto k = to_json(e);
    CHECK(k["cameras"] == nlohmann::json::array({X, Y, Z}));
    CHECK(k["day_start_ms"] == day0);
    CHECK(k["day"] == "2024-03-05");
    CHECK(k["people"] == 1);
    CHECK(k["person_ids"] == nlohmann::json::array({20}));
    // Round-trips through text for the REST gateway.
    CHECK(nlohmann::json::parse(k.dump()) == k);
  }

} // TEST_SUITE
