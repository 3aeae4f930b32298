#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <vector>

#include "accel/pool_scheduler.hpp"

using namespace weaver;

namespace {

// Tickets encode their camera and per-camera index: camera * 1000 + index.
uint64_t ticket(uint32_t camera, uint64_t index) { return camera * 1000ull + index; }
uint32_t camera_of(uint64_t t) { return static_cast<uint32_t>(t / 1000); }

} // namespace

TEST_SUITE("pool_scheduler") {

TEST_CASE("add_card validates the capacity") {
  pool_scheduler s;
  CHECK_THROWS_AS(s.add_card("zero", 0), std::invalid_argument);
  CHECK_THROWS_AS(s.add_card("negative", -2), std::invalid_argument);
  CHECK(s.cards() == 0);
  CHECK(s.add_card("a", 1) == 0);
  CHECK(s.add_card("b", 4, 0.2) == 1);
  CHECK(s.cards() == 2);
  CHECK(s.card_name(1) == "b");
  CHECK(s.ewma_service_s(0) == doctest::Approx(0.05));
  CHECK(s.ewma_service_s(1) == doctest::Approx(0.2));
}

TEST_CASE("no cards: nothing is dispatched, everything stays queued") {
  pool_scheduler s;
  s.enqueue(1, 0, 0);
  CHECK(s.schedule(0, 0).empty());
  CHECK(s.queued() == 1);
  CHECK(s.in_flight() == 0);
}

TEST_CASE("at most one job per camera in flight, in camera order") {
  pool_scheduler s;
  s.add_card("a", 4);
  s.add_card("b", 4);
  for (uint64_t i = 0; i < 5; ++i) s.enqueue(ticket(3, i), 3, 0);
  CHECK(s.queued() == 5);
  CHECK(s.queued(3) == 5);
  CHECK(s.queued(4) == 0);

  for (uint64_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    auto d = s.schedule(0, 0);
    // Plenty of free capacity, yet only the camera's next frame runs.
    REQUIRE(d.size() == 1);
    CHECK(d[0].ticket == ticket(3, i));
    CHECK(s.in_flight() == 1);
    CHECK(s.queued(3) == 4 - i);
    // Nothing more until it completes.
    CHECK(s.schedule(0, 0).empty());
    s.complete(d[0].ticket, 0.01);
    CHECK(s.in_flight() == 0);
  }
  CHECK(s.queued() == 0);
  CHECK(s.schedule(0, 0).empty());
}

TEST_CASE("one pass dispatches one job per camera when capacity allows") {
  pool_scheduler s;
  s.add_card("big", 16);
  for (uint32_t cam = 0; cam < 3; ++cam)
    for (uint64_t i = 0; i < 4; ++i) s.enqueue(ticket(cam, i), cam, 0);
  auto d = s.schedule(0, 0);
  REQUIRE(d.size() == 3);
  std::vector<uint32_t> cams;
  for (auto& x : d) {
    CHECK(x.ticket % 1000 == 0); // each camera's first job
    cams.push_back(camera_of(x.ticket));
  }
  std::sort(cams.begin(), cams.end());
  CHECK(cams == std::vector<uint32_t>{0, 1, 2});
  CHECK(s.in_flight() == 3);
  CHECK(s.queued() == 9);
}

TEST_CASE("round-robin across cameras with a single slot") {
  pool_scheduler s;
  s.add_card("only", 1);
  for (uint32_t cam = 0; cam < 3; ++cam)
    for (uint64_t i = 0; i < 10; ++i) s.enqueue(ticket(cam, i), cam, 0);
  CHECK(s.queued() == 30);

  std::vector<uint64_t> order;
  for (int step = 0; step < 30; ++step) {
    auto d = s.schedule(0, 0);
    REQUIRE(d.size() == 1); // capacity 1
    CHECK(d[0].card == 0);
    CHECK(s.schedule(0, 0).empty()); // the card is busy
    order.push_back(d[0].ticket);
    s.complete(d[0].ticket, 0.01);
  }
  CHECK(s.queued() == 0);
  std::map<uint32_t, uint64_t> next_index;
  for (size_t k = 0; k < order.size(); ++k) {
    CAPTURE(k);
    auto cam = camera_of(order[k]);
    // Cameras alternate 0, 1, 2, 0, 1, 2, ...
    CHECK(cam == k % 3);
    // Each camera's jobs run in admission order.
    CHECK(order[k] % 1000 == next_index[cam]++);
  }
}

TEST_CASE("a camera with one job does not starve behind a camera with many") {
  pool_scheduler s;
  s.add_card("only", 1);
  for (uint64_t i = 0; i < 50; ++i) s.enqueue(ticket(1, i), 1, 0);
  // Run a few of camera 1's jobs first.
  for (int i = 0; i < 3; ++i) {
    auto d = s.schedule(0, 0);
    REQUIRE(d.size() == 1);
    s.complete(d[0].ticket, 0.01);
  }
  // Camera 0 and camera 7 arrive late with one job each.
  s.enqueue(ticket(0, 0), 0, 0);
  s.enqueue(ticket(7, 0), 7, 0);
  std::vector<uint32_t> cams;
  for (int i = 0; i < 4; ++i) {
    auto d = s.schedule(0, 0);
    REQUIRE(d.size() == 1);
    cams.push_back(camera_of(d[0].ticket));
    s.complete(d[0].ticket, 0.01);
  }
  // Within one round of the three cameras both late-comers have run.
  auto first3 = std::vector<uint32_t>(cams.begin(), cams.begin() + 3);
  CHECK(std::count(first3.begin(), first3.end(), 0u) == 1);
  CHECK(std::count(first3.begin(), first3.end(), 7u) == 1);
  CHECK(std::count(first3.begin(), first3.end(), 1u) == 1);
  CHECK(s.queued(0) == 0);
  CHECK(s.queued(7) == 0);
}

TEST_CASE("EWMA learns service times and the fast card wins") {
  pool_scheduler s;
  // The slow card has the lower index, so ties would favour it.
  auto slow = s.add_card("slow", 1);
  auto fast = s.add_card("fast", 1);
  REQUIRE(slow == 0);
  REQUIRE(fast == 1);

  // Two cameras at once occupy both cards; teach each card its speed.
  uint64_t n = 0;
  for (int round = 0; round < 10; ++round) {
    s.enqueue(ticket(0, n), 0, 0);
    s.enqueue(ticket(1, n), 1, 0);
    ++n;
    auto d = s.schedule(0, 0);
    REQUIRE(d.size() == 2);
    CHECK(d[0].card != d[1].card);
    for (auto& x : d) s.complete(x.ticket, x.card == slow ? 1.0 : 0.01);
    if (round == 0) {
      // One sample: 0.8 * 0.05 + 0.2 * sample.
      CHECK(s.ewma_service_s(slow) == doctest::Approx(0.24));
      CHECK(s.ewma_service_s(fast) == doctest::Approx(0.042));
    }
  }
  CHECK(s.ewma_service_s(slow) > 0.8);
  CHECK(s.ewma_service_s(fast) < 0.02);

  // A single job now goes to the fast card.
  s.enqueue(ticket(2, 0), 2, 0);
  auto d = s.schedule(0, 0);
  REQUIRE(d.size() == 1);
  CHECK(d[0].card == fast);

  // The fast card is full (capacity 1): the next camera's job goes to the slow one.
  s.enqueue(ticket(3, 0), 3, 0);
  auto d2 = s.schedule(0, 0);
  REQUIRE(d2.size() == 1);
  CHECK(d2[0].card == slow);

  // Both full: a third camera waits.
  s.enqueue(ticket(4, 0), 4, 0);
  CHECK(s.schedule(0, 0).empty());
  CHECK(s.queued(4) == 1);
  CHECK(s.in_flight() == 2);

  // When the fast card frees up, the waiting job goes there.
  s.complete(d[0].ticket, 0.01);
  auto d3 = s.schedule(0, 0);
  REQUIRE(d3.size() == 1);
  CHECK(d3[0].ticket == ticket(4, 0));
  CHECK(d3[0].card == fast);
}

TEST_CASE("a shared card's load raises its expected completion") {
  pool_scheduler s;
  auto a = s.add_card("a", 2, 0.10);
  auto b = s.add_card("b", 2, 0.12);
  s.enqueue(ticket(0, 0), 0, 0);
  s.enqueue(ticket(1, 0), 1, 0);
  s.enqueue(ticket(2, 0), 2, 0);
  s.enqueue(ticket(3, 0), 3, 0);
  s.enqueue(ticket(4, 0), 4, 0);
  auto d = s.schedule(0, 0);
  // a idle: 0.10; then a with one job: 0.15 > b idle 0.12; b with one: 0.18 > a 0.15;
  // a full; then b. Five jobs, four slots.
  REQUIRE(d.size() == 4);
  std::vector<size_t> cards;
  for (auto& x : d) cards.push_back(x.card);
  CHECK(cards == std::vector<size_t>{a, b, a, b});
  CHECK(s.queued() == 1);
  CHECK(s.in_flight() == 4);
}

TEST_CASE("stale jobs are dropped and reported") {
  pool_scheduler s;
  s.add_card("only", 1);
  const int64_t ms = 1000000;
  s.enqueue(ticket(0, 0), 0, 0 * ms);
  s.enqueue(ticket(0, 1), 0, 100 * ms);
  s.enqueue(ticket(0, 2), 0, 200 * ms);
  s.enqueue(ticket(1, 0), 1, 50 * ms);
  s.enqueue(ticket(1, 1), 1, 130 * ms);   // exactly max_age old at 250 ms: kept
  CHECK(s.queued() == 5);

  std::vector<uint64_t> stale;
  auto d = s.schedule(250 * ms, 120 * ms, &stale);
  std::sort(stale.begin(), stale.end());
  CHECK(stale == std::vector<uint64_t>{ticket(0, 0), ticket(0, 1), ticket(1, 0)});
  REQUIRE(d.size() == 1);
  CHECK((d[0].ticket == ticket(0, 2) || d[0].ticket == ticket(1, 1)));
  CHECK(s.queued() == 1);
  CHECK(s.in_flight() == 1);

  // In-flight jobs are never dropped; the remaining queued one ages out.
  std::vector<uint64_t> later;
  auto none = s.schedule(10000 * ms, 120 * ms, &later);
  CHECK(none.empty());
  REQUIRE(later.size() == 1);
  CHECK(later[0] != d[0].ticket);
  CHECK(s.queued() == 0);
  CHECK(s.in_flight() == 1);
}

TEST_CASE("stale jobs are dropped even without a list") {
  pool_scheduler s;
  s.add_card("only", 1);
  s.enqueue(1, 0, 0);
  s.enqueue(2, 0, 1000);
  auto d = s.schedule(2000, 1500);
  REQUIRE(d.size() == 1);
  CHECK(d[0].ticket == 2);
  CHECK(s.queued() == 0);
}

TEST_CASE("max_age 0 never drops") {
  pool_scheduler s;
  s.add_card("only", 1);
  for (uint64_t i = 0; i < 5; ++i) s.enqueue(ticket(0, i), 0, 0);
  std::vector<uint64_t> stale;
  for (uint64_t i = 0; i < 5; ++i) {
    auto d = s.schedule(int64_t{1} << 60, 0, &stale);
    REQUIRE(d.size() == 1);
    CHECK(d[0].ticket == ticket(0, i));
    s.complete(d[0].ticket, 0.01);
  }
  CHECK(stale.empty());
}

TEST_CASE("completing an unknown ticket changes nothing") {
  pool_scheduler s;
  s.add_card("only", 1);
  s.enqueue(1, 0, 0);
  auto d = s.schedule(0, 0);
  REQUIRE(d.size() == 1);
  s.complete(999, 5.0);
  CHECK(s.in_flight() == 1);
  CHECK(s.ewma_service_s(0) == doctest::Approx(0.05));
  s.complete(1, 0.05);
  s.complete(1, 5.0); // twice: the second is ignored
  CHECK(s.in_flight() == 0);
  CHECK(s.ewma_service_s(0) == doctest::Approx(0.05));
}

} // TEST_SUITE
