// The pool scheduler in virtual time: placement, fairness, batching,
// deadlines, back-pressure and failover, with no threads and no clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "accel/pool_scheduler.hpp"

using namespace weaver;

namespace {

constexpr int64_t ms = 1'000'000;

// Tickets encode their camera and per-camera index: camera * 1000 + index.
uint64_t ticket(uint32_t camera, uint64_t index) { return camera * 1000ull + index; }

pool_scheduler::card_spec spec(const char* name, int capacity = 1, double service_s = 0.05, int max_batch = 1,
                               std::vector<double> cost = {}) {
  pool_scheduler::card_spec s;
  s.name = name;
  s.capacity = capacity;
  s.initial_service_s = service_s;
  s.max_batch = max_batch;
  s.batch_cost = std::move(cost);
  s.timeout_ns = 1000 * ms;
  return s;
}

std::vector<uint64_t> tickets_of(const std::vector<pool_scheduler::dispatch>& ds) {
  std::vector<uint64_t> out;
  for (auto& d : ds)
    for (auto& j : d.jobs) out.push_back(j.ticket);
  return out;
}

} // namespace

TEST_SUITE("pool_scheduler") {
  TEST_CASE("add_card validates the spec") {
    pool_scheduler s;
    CHECK_THROWS_AS(s.add_card(spec("zero", 0)), std::invalid_argument);
    CHECK_THROWS_AS(s.add_card(spec("nobatch", 1, 0.05, 0)), std::invalid_argument);
    CHECK_THROWS_AS(s.add_card(spec("short", 1, 0.05, 4, {1, 1.5})), std::invalid_argument);
    CHECK(s.cards() == 0);
    CHECK(s.add_card(spec("a")) == 0);
    CHECK(s.add_card(spec("b", 4, 0.2)) == 1);
    CHECK(s.card_name(1) == "b");
    CHECK(s.ewma_service_s(1) == doctest::Approx(0.2));
    CHECK(s.card_is_up(0));
  }

  TEST_CASE("no cards: nothing is dispatched, everything stays queued") {
    pool_scheduler s;
    s.enqueue(1, 0, 0, nullptr);
    CHECK(s.schedule(0, nullptr).empty());
    CHECK(s.queued() == 1);
    CHECK(s.in_flight() == 0);
  }

  TEST_CASE("a camera's frames run one at a time, in order") {
    pool_scheduler s;
    s.add_card(spec("a", 4));
    s.add_card(spec("b", 4));
    for (uint64_t i = 0; i < 5; ++i) s.enqueue(ticket(3, i), 3, 0, nullptr);
    for (uint64_t i = 0; i < 5; ++i) {
      CAPTURE(i);
      auto d = s.schedule(0, nullptr);
      // Plenty of free capacity, yet only the camera's next frame runs.
      REQUIRE(d.size() == 1);
      REQUIRE(d[0].jobs.size() == 1);
      CHECK(d[0].jobs[0].ticket == ticket(3, i));
      CHECK(s.schedule(0, nullptr).empty());
      CHECK(s.complete(d[0].batch, 0.05, 0));
    }
    CHECK(s.queued() == 0);
    CHECK(s.in_flight() == 0);
  }

  TEST_CASE("fairness: cameras take turns, a flooding camera does not starve the others") {
    pool_scheduler s{scheduler_options{100, 0, 1, 1}};
    s.add_card(spec("only", 1));
    // Camera 1 floods 50 frames before cameras 2 and 3 send 3 each.
    for (uint64_t i = 0; i < 50; ++i) s.enqueue(ticket(1, i), 1, 0, nullptr);
    for (uint64_t i = 0; i < 3; ++i) {
      s.enqueue(ticket(2, i), 2, 0, nullptr);
      s.enqueue(ticket(3, i), 3, 0, nullptr);
    }
    std::vector<uint32_t> served;
    for (int k = 0; k < 9; ++k) {
      auto d = s.schedule(0, nullptr);
      REQUIRE(d.size() == 1);
      served.push_back(static_cast<uint32_t>(d[0].jobs[0].ticket / 1000));
      s.complete(d[0].batch, 0.05, 0);
    }
    // One card, one job at a time: strict turns 1, 2, 3, 1, 2, 3, ...
    CHECK(served == std::vector<uint32_t>{1, 2, 3, 1, 2, 3, 1, 2, 3});
  }

  TEST_CASE("placement: the earliest expected completion wins, measured speeds are learnt") {
    pool_scheduler s;
    s.add_card(spec("slow", 1, 0.100));
    s.add_card(spec("fast", 1, 0.020));
    s.enqueue(ticket(1, 0), 1, 0, nullptr);
    auto d = s.schedule(0, nullptr);
    REQUIRE(d.size() == 1);
    CHECK(d[0].card == 1); // fast and idle
    // With the fast card busy (one job, depth 2 allows a second), a new job
    // still goes there: 20 ms x (1 + 1) = 40 ms beats the idle slow card's 100.
    s.enqueue(ticket(2, 0), 2, 0, nullptr);
    auto d2 = s.schedule(0, nullptr);
    REQUIRE(d2.size() == 1);
    CHECK(d2[0].card == 1);
    // The fast card is full (depth 2): the next job takes the slow one.
    s.enqueue(ticket(3, 0), 3, 0, nullptr);
    auto d3 = s.schedule(0, nullptr);
    REQUIRE(d3.size() == 1);
    CHECK(d3[0].card == 0);
    // The "fast" card turns out slow: its EWMA follows the measurements.
    for (auto* x : {&d, &d2}) s.complete((*x)[0].batch, 0.5, 0);
    CHECK(s.ewma_service_s(1) > 0.1);
    s.enqueue(ticket(4, 0), 4, 0, nullptr);
    s.complete(d3[0].batch, 0.1, 0);
    auto d4 = s.schedule(0, nullptr);
    REQUIRE(d4.size() == 1);
    CHECK(d4[0].card == 0);
  }

  TEST_CASE("placement: a busy card whose batch ends sooner beats one that just started") {
    pool_scheduler s;
    s.add_card(spec("a", 1, 0.100));
    s.add_card(spec("b", 1, 0.100));
    s.enqueue(ticket(1, 0), 1, 0, nullptr);
    auto d1 = s.schedule(0, nullptr); // a: busy from 0 to ~100 ms
    s.enqueue(ticket(2, 0), 2, 60 * ms, nullptr);
    auto d2 = s.schedule(60 * ms, nullptr); // b: busy from 60 to ~160 ms
    REQUIRE(d1.size() == 1);
    REQUIRE(d2.size() == 1);
    CHECK(d1[0].card != d2[0].card);
    // At 70 ms both are busy; a new job queues behind the one ending first.
    s.enqueue(ticket(3, 0), 3, 70 * ms, nullptr);
    auto d3 = s.schedule(70 * ms, nullptr);
    REQUIRE(d3.size() == 1);
    CHECK(d3[0].card == d1[0].card);
  }

  TEST_CASE("placement in a simulated run: a 4x faster card does about 4x the work") {
    pool_scheduler s{scheduler_options{100, 0, 1, 1}};
    s.add_card(spec("slow", 1, 0.05));
    s.add_card(spec("fast", 1, 0.05));
    const int64_t service[2] = {80 * ms, 20 * ms};
    // Virtual time: 20 cameras always have work; cards finish at their speed.
    for (uint32_t c = 0; c < 20; ++c)
      for (uint64_t i = 0; i < 50; ++i) s.enqueue(ticket(c, i), c, 0, nullptr);
    std::multimap<int64_t, std::pair<uint64_t, size_t>> finishing;
    int64_t now = 0;
    int done[2] = {0, 0};
    while (now < 4000 * ms) {
      for (auto& d : s.schedule(now, nullptr))
        finishing.emplace(now + service[d.card], std::make_pair(d.batch, d.card));
      REQUIRE(!finishing.empty());
      auto it = finishing.begin();
      now = it->first;
      s.complete(it->second.first, static_cast<double>(service[it->second.second]) / 1e9, now);
      done[it->second.second]++;
      finishing.erase(it);
    }
    CHECK(done[1] > 3 * done[0]);
    CHECK(done[1] + done[0] >= 4000 / 80 + 4000 / 20 - 4); // both busy all the time
  }

  TEST_CASE("batching: only beyond the free slots, and only on cards that gain from it") {
    SUBCASE("a batching card takes the surplus as one batch") {
      pool_scheduler s;
      s.add_card(spec("batcher", 1, 0.05, 4, {1, 1.2, 1.4, 1.6}));
      for (uint32_t c = 0; c < 6; ++c) s.enqueue(ticket(c, 0), c, 0, nullptr);
      auto d = s.schedule(0, nullptr);
      // One free slot and 6 ready jobs: a full batch of 4. Nothing is queued
      // ahead on a batching card: the other 2 wait for it to free.
      REQUIRE(d.size() == 1);
      CHECK(tickets_of(d) == std::vector<uint64_t>{0, 1000, 2000, 3000});
      CHECK(s.queued() == 2);
      s.complete(d[0].batch, 0.08, 80 * ms);
      auto d2 = s.schedule(80 * ms, nullptr);
      REQUIRE(d2.size() == 1);
      CHECK(tickets_of(d2) == std::vector<uint64_t>{4000, 5000});
    }
    SUBCASE("low load: jobs spread over idle cards instead of batching") {
      pool_scheduler s;
      s.add_card(spec("b1", 1, 0.05, 4, {1, 1.2, 1.4, 1.6}));
      s.add_card(spec("b2", 1, 0.05, 4, {1, 1.2, 1.4, 1.6}));
      s.enqueue(ticket(1, 0), 1, 0, nullptr);
      s.enqueue(ticket(2, 0), 2, 0, nullptr);
      auto d = s.schedule(0, nullptr);
      REQUIRE(d.size() == 2);
      CHECK(d[0].jobs.size() == 1);
      CHECK(d[1].jobs.size() == 1);
      CHECK(d[0].card != d[1].card);
    }
    SUBCASE("a card without batch gain never batches") {
      pool_scheduler s;
      s.add_card(spec("flat", 1, 0.05, 4, {1, 2, 3, 4}));
      for (uint32_t c = 0; c < 6; ++c) s.enqueue(ticket(c, 0), c, 0, nullptr);
      auto d = s.schedule(0, nullptr);
      REQUIRE(d.size() == 2); // depth 2: two single-job batches
      CHECK(d[0].jobs.size() == 1);
      CHECK(d[1].jobs.size() == 1);
    }
    SUBCASE("the EWMA is per job: a batch's time is divided by its cost") {
      pool_scheduler s;
      s.add_card(spec("batcher", 1, 0.05, 4, {1, 1.2, 1.4, 1.6}));
      for (uint32_t c = 0; c < 4; ++c) s.enqueue(ticket(c, 0), c, 0, nullptr);
      auto d = s.schedule(0, nullptr);
      REQUIRE(d.size() == 1);
      for (int k = 0; k < 50; ++k) {
        s.complete(d[0].batch, 0.16, 0); // a batch of 4 in 160 ms = 100 ms per cost unit
        for (uint32_t c = 0; c < 4; ++c) s.enqueue(ticket(c, 0), c, 0, nullptr);
        d = s.schedule(0, nullptr);
        REQUIRE(d.size() == 1);
        REQUIRE(d[0].jobs.size() == 4);
      }
      CHECK(s.ewma_service_s(0) == doctest::Approx(0.1).epsilon(0.01));
    }
  }

  TEST_CASE("deadlines: stale jobs are dropped, and so are jobs that would finish late") {
    scheduler_options o;
    o.max_age_ns = 200 * ms;
    pool_scheduler s{o};
    s.add_card(spec("a", 1, 0.100));
    // Predictions are trusted once the card was measured: one 100 ms job.
    s.enqueue(ticket(9, 0), 9, 0, nullptr);
    auto first = s.schedule(0, nullptr);
    REQUIRE(first.size() == 1);
    CHECK(s.complete(first[0].batch, 0.100, 0));
    s.enqueue(ticket(1, 0), 1, 0, nullptr); // admitted at 0
    s.enqueue(ticket(2, 0), 2, 50 * ms, nullptr); // at 50 ms
    s.enqueue(ticket(3, 0), 3, 150 * ms, nullptr); // at 150 ms
    std::vector<pool_scheduler::drop> drops;
    auto d = s.schedule(250 * ms, &drops);
    // At 250 ms: camera 1's job is 250 ms old (stale); camera 2's is 200 ms
    // old and would finish at 300 ms (deadline); camera 3's can make it.
    REQUIRE(drops.size() == 2);
    CHECK(drops[0].ticket == ticket(1, 0));
    CHECK(std::string(drops[0].reason) == "stale");
    CHECK(drops[1].ticket == ticket(2, 0));
    CHECK(std::string(drops[1].reason) == "deadline");
    REQUIRE(d.size() == 1);
    CHECK(d[0].jobs[0].ticket == ticket(3, 0));
    CHECK(s.queued() == 0);

    SUBCASE("expire() finds stale jobs behind a queue head") {
      for (uint64_t i = 1; i <= 3; ++i) s.enqueue(ticket(3, i), 3, static_cast<int64_t>(i) * 10 * ms, nullptr);
      std::vector<pool_scheduler::drop> more;
      s.expire(225 * ms, &more);
      REQUIRE(more.size() == 2); // admitted at 10 and 20 ms: older than 200 ms
      CHECK(more[0].ticket == ticket(3, 1));
      CHECK(more[1].ticket == ticket(3, 2));
      CHECK(s.queued(3) == 1);
    }
  }

  TEST_CASE("an unmeasured card's guess never drops jobs by prediction") {
    scheduler_options o;
    o.max_age_ns = 30 * ms;
    pool_scheduler s{o};
    s.add_card(spec("pessimist", 1, 0.050)); // guesses 50 ms against a 30 ms budget
    s.enqueue(ticket(1, 0), 1, 0, nullptr);
    std::vector<pool_scheduler::drop> drops;
    auto d = s.schedule(0, &drops);
    CHECK(drops.empty());
    REQUIRE(d.size() == 1);
    s.complete(d[0].batch, 0.010, 10 * ms); // measured: 10 ms
    CHECK(s.ewma_service_s(0) == doctest::Approx(0.010));
  }

  TEST_CASE("back-pressure: a camera's queue is bounded and sheds its oldest frame") {
    scheduler_options o;
    o.queue_per_camera = 3;
    pool_scheduler s{o};
    std::vector<pool_scheduler::drop> drops;
    for (uint64_t i = 0; i < 5; ++i) s.enqueue(ticket(1, i), 1, 0, &drops);
    s.enqueue(ticket(2, 0), 2, 0, &drops);
    CHECK(s.queued(1) == 3);
    CHECK(s.queued(2) == 1);
    REQUIRE(drops.size() == 2);
    CHECK(drops[0].ticket == ticket(1, 0));
    CHECK(drops[1].ticket == ticket(1, 1));
    CHECK(std::string(drops[0].reason) == "queue_full");
  }

  TEST_CASE("failover: a down card's jobs return to their queues in order and run elsewhere") {
    scheduler_options o;
    o.max_in_flight_per_camera = 2;
    pool_scheduler s{o};
    s.add_card(spec("a", 1, 0.01));
    s.add_card(spec("b", 1, 0.05));
    for (uint64_t i = 0; i < 4; ++i) s.enqueue(ticket(1, i), 1, static_cast<int64_t>(i), nullptr);
    auto d = s.schedule(0, nullptr);
    REQUIRE(tickets_of(d).size() == 2);
    std::set<size_t> used;
    for (auto& x : d) used.insert(x.card);
    // Card a fails: what it held goes back to the head of camera 1's queue.
    auto on_a = std::count_if(d.begin(), d.end(), [](auto& x) { return x.card == 0; });
    auto back = s.card_down(0, 10 * ms);
    CHECK(static_cast<long>(back.size()) == on_a);
    CHECK_FALSE(s.card_is_up(0));
    for (auto& x : d) CHECK(s.complete(x.batch, 0.01, 20 * ms) == (x.card != 0)); // a's late results are void
    CHECK(s.queued(1) == 2 + back.size() - 0);
    // Everything left runs on b, oldest first.
    std::vector<uint64_t> order;
    for (int k = 0; k < 10 && (s.queued() > 0 || s.in_flight() > 0); ++k) {
      auto dd = s.schedule(30 * ms, nullptr);
      for (auto& x : dd) {
        CHECK(x.card == 1);
        for (auto& j : x.jobs) order.push_back(j.ticket);
        s.complete(x.batch, 0.05, 30 * ms);
      }
    }
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(order.back() == ticket(1, 3));
    // The card comes back and takes work again.
    s.card_up(0, 40 * ms);
    s.enqueue(ticket(2, 0), 2, 40 * ms, nullptr);
    auto d2 = s.schedule(40 * ms, nullptr);
    REQUIRE(d2.size() == 1);
    CHECK(d2[0].card == 0);
  }

  TEST_CASE("a card making no progress is overdue; an idle one never is") {
    pool_scheduler s;
    s.add_card(spec("a"));
    s.add_card(spec("b"));
    CHECK(s.overdue(10'000 * ms).empty());
    s.enqueue(ticket(1, 0), 1, 0, nullptr);
    auto d = s.schedule(0, nullptr);
    REQUIRE(d.size() == 1);
    CHECK(s.overdue(999 * ms).empty());
    auto late = s.overdue(1001 * ms);
    REQUIRE(late.size() == 1);
    CHECK(late[0] == d[0].card);
  }

  TEST_CASE("a card that finishes late is slow, not hung: its timeout grows, within a bound") {
    // On an overloaded host a CPU card's frame can take longer than the
    // timeout (a load average of 30: over 5 s): taken down, its work re-run
    // elsewhere, back after the probe, and down again for each such frame.
    scheduler_options o;
    o.max_timeout_factor = 4;
    pool_scheduler s{o};
    s.add_card(spec("a")); // timeout 1 s
    CHECK(s.card_timeout_ns(0) == 1000 * ms);
    s.enqueue(ticket(1, 0), 1, 0, nullptr);
    auto d = s.schedule(0, nullptr);
    REQUIRE(d.size() == 1);
    REQUIRE(s.overdue(1001 * ms).size() == 1);
    s.card_down(0, 1001 * ms);
    CHECK_FALSE(s.complete(d[0].batch, 1.5, 1500 * ms)); // late: failed over
    CHECK(s.slow_completion(0, 1.5) == 3000 * ms);
    s.card_up(0, 2000 * ms);
    auto d2 = s.schedule(2000 * ms, nullptr); // the re-queued job, on the card again
    REQUIRE(d2.size() == 1);
    CHECK(s.overdue(2000 * ms + 2000 * ms).empty()); // 2 s: down before, not now
    CHECK(s.overdue(2000 * ms + 3001 * ms).size() == 1);
    // It never shrinks, and never grows past the bound.
    CHECK(s.slow_completion(0, 0.1) == 3000 * ms);
    CHECK(s.slow_completion(0, 100.0) == 4000 * ms);
    CHECK(s.slow_completion(0, -1.0) == 4000 * ms);
    CHECK(s.slow_completion(0, std::nan("")) == 4000 * ms);
  }

  TEST_CASE("every card down: queued jobs wait, then are dropped as no_card") {
    scheduler_options o;
    o.orphan_after_ns = 100 * ms;
    pool_scheduler s{o};
    s.add_card(spec("a"));
    s.enqueue(ticket(1, 0), 1, 0, nullptr);
    s.enqueue(ticket(1, 1), 1, 0, nullptr);
    auto d = s.schedule(0, nullptr);
    s.card_down(0, 10 * ms);
    std::vector<pool_scheduler::drop> drops;
    s.expire(50 * ms, &drops);
    CHECK(drops.empty());
    CHECK(s.schedule(50 * ms, nullptr).empty());
    s.expire(111 * ms, &drops);
    REQUIRE(drops.size() == 2);
    CHECK(std::string(drops[0].reason) == "no_card");
    CHECK(s.queued() == 0);
  }

  TEST_CASE("busy time integrates the slots in use") {
    pool_scheduler s;
    s.add_card(spec("a", 2));
    s.enqueue(ticket(1, 0), 1, 0, nullptr);
    s.enqueue(ticket(2, 0), 2, 0, nullptr);
    auto d = s.schedule(0, nullptr);
    REQUIRE(d.size() == 2);
    s.complete(d[0].batch, 0.1, 100 * ms); // two slots busy for 100 ms
    s.complete(d[1].batch, 0.3, 300 * ms); // then one for 200 ms
    CHECK(s.card_busy_s(0, 1000 * ms) == doctest::Approx(0.4));
  }

  TEST_CASE("round-robin placement takes cards in turn, whatever their speed") {
    scheduler_options o;
    o.policy = placement::round_robin;
    o.depth = 4;
    pool_scheduler s{o};
    s.add_card(spec("slow", 1, 0.5));
    s.add_card(spec("fast", 1, 0.01));
    for (uint32_t c = 0; c < 4; ++c) s.enqueue(ticket(c, 0), c, 0, nullptr);
    auto d = s.schedule(0, nullptr);
    REQUIRE(d.size() == 4);
    CHECK(d[0].card == 0);
    CHECK(d[1].card == 1);
    CHECK(d[2].card == 0);
    CHECK(d[3].card == 1);
  }
}
