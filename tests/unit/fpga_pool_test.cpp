// The pool actor with real sim cards on a real actor system: failover when a
// card fails or hangs mid-run (every job answered, none lost), deadline
// drops in real time, and a failed card rejoining after its re-probe.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "accel/cpu_card.hpp"
#include "accel/detect/detector.hpp"
#include "accel/sim_card.hpp"
#include "actors/fpga_pool/fpga_pool.hpp"
#include "base/errors.hpp"

using namespace weaver;

namespace {

struct tally {
  std::atomic<int> ok{0}, dropped{0}, failed{0};
  std::atomic<int> out_of_order{0};
  int answered() const { return ok + dropped + failed; }
};

// Sends `frames` frames per camera, each camera's next frame when the last
// was answered (like the detector does with one slot), and tallies replies.
caf::behavior driver(caf::event_based_actor* self, fpga_pool_actor pool, std::shared_ptr<tally> t, int cameras,
                     int frames) {
  auto next = std::make_shared<std::vector<int>>(cameras, 0);
  // One engine per camera, as the detector keeps them (cpu cards run it).
  auto engines = std::make_shared<std::vector<std::shared_ptr<detector>>>();
  for (int c = 0; c < cameras; ++c) engines->push_back(make_detector("motion"));
  auto send = std::make_shared<std::function<void(uint32_t)>>();
  // The function calls itself through a weak reference (a strong one would
  // be a cycle that never frees); the behaviour below keeps it alive.
  std::weak_ptr<std::function<void(uint32_t)>> again = send;
  *send = [=](uint32_t cam) {
    int seq = (*next)[cam]++;
    if (seq >= frames) return;
    auto f = std::make_shared<frame>();
    f->camera_id = cam;
    f->seq = static_cast<uint64_t>(seq);
    f->image = cv::Mat(32, 32, CV_8UC3, cv::Scalar(0, 0, 0));
    self->request(pool, caf::infinite, inference_job{f, (*engines)[cam], steady_now_ns()})
      .then(
        [=](detection_batch& b) {
          if (b.camera_id != cam || b.seq != static_cast<uint64_t>(seq)) t->out_of_order++;
          t->ok++;
          if (auto f = again.lock()) (*f)(cam);
        },
        [=](caf::error& e) {
          if (e == errc::frame_dropped)
            t->dropped++;
          else
            t->failed++;
          if (auto f = again.lock()) (*f)(cam);
        });
  };
  for (int c = 0; c < cameras; ++c) {
    // Two frames in flight per camera, as the detector's queue allows.
    (*send)(static_cast<uint32_t>(c));
    (*send)(static_cast<uint32_t>(c));
  }
  return {[send](int) {}};
}

std::shared_ptr<card> sim(const std::string& name, double mean_ms, sim_faults faults = {}) {
  sim_card_options o;
  o.name = name;
  o.distribution = "constant";
  o.mean_ms = mean_ms;
  o.results = "none";
  o.faults = faults;
  return std::make_shared<sim_card>(o);
}

nlohmann::json status(caf::scoped_actor& self, const fpga_pool_actor& pool) {
  nlohmann::json j;
  self->request(pool, std::chrono::seconds{5}, status_atom::value)
    .receive([&](std::string& s) { j = nlohmann::json::parse(s); }, [](caf::error&) {});
  return j;
}

// Waits (bounded) until every job was answered.
bool wait_all(const tally& t, int total) {
  for (int i = 0; i < 3000 && t.answered() < total; ++i) std::this_thread::sleep_for(std::chrono::milliseconds{10});
  return t.answered() == total;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<caf::actor> actors;
  ~fixture() {
    for (auto& a : actors) self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  fpga_pool_actor pool(std::vector<std::shared_ptr<card>> cards, pool_settings s) {
    auto p = sys.spawn(fpga_pool, std::move(cards), s, run_stats_ptr{});
    actors.push_back(caf::actor_cast<caf::actor>(p));
    return p;
  }
  void drive(fpga_pool_actor p, std::shared_ptr<tally> t, int cameras, int frames) {
    actors.push_back(sys.spawn(driver, p, t, cameras, frames));
  }
};

pool_settings fast_settings() {
  pool_settings s;
  s.tick_ms = 5;
  s.probe_ms = 20;
  s.card_timeout_ms = 150;
  return s;
}

} // namespace

TEST_SUITE("fpga_pool") {
  TEST_CASE("a card fails mid-run: its jobs run elsewhere, every job is answered") {
    fixture fx;
    sim_faults f;
    f.fail_after = 5; // and never recovers
    auto pool = fx.pool({sim("good1", 2), sim("bad", 2, f), sim("good2", 2)}, fast_settings());
    auto t = std::make_shared<tally>();
    fx.drive(pool, t, 4, 40);
    REQUIRE(wait_all(*t, 160));
    CHECK(t->ok == 160); // not real time: nothing dropped, nothing failed
    CHECK(t->out_of_order == 0);
    auto j = status(fx.self, pool);
    CHECK(j["cards"][1]["up"] == false);
    CHECK(j["cards"][1]["jobs_done"].get<int>() <= 5);
    CHECK(j["cards"][0]["jobs_done"].get<int>() + j["cards"][2]["jobs_done"].get<int>()
            + j["cards"][1]["jobs_done"].get<int>()
          == 160);
  }

  TEST_CASE("a card hangs mid-run: the timeout takes it down and its jobs run elsewhere") {
    fixture fx;
    sim_faults f;
    f.hang_after = 3;
    auto pool = fx.pool({sim("hangs", 2, f), sim("good", 2)}, fast_settings());
    auto t = std::make_shared<tally>();
    fx.drive(pool, t, 3, 30);
    REQUIRE(wait_all(*t, 90));
    CHECK(t->ok == 90);
    CHECK(t->out_of_order == 0);
    auto j = status(fx.self, pool);
    CHECK(j["cards"][0]["up"] == false);
    CHECK(j["queued"] == 0);
    CHECK(j["in_flight"] == 0);
  }

  TEST_CASE("a failed card is re-probed and rejoins the pool") {
    fixture fx;
    sim_faults f;
    f.fail_after = 2;
    f.recover_after_ms = 60;
    auto pool = fx.pool({sim("flaky", 2, f), sim("steady", 10)}, fast_settings());
    auto t = std::make_shared<tally>();
    fx.drive(pool, t, 2, 100);
    REQUIRE(wait_all(*t, 200));
    CHECK(t->ok == 200);
    auto j = status(fx.self, pool);
    CHECK(j["cards"][0]["up"] == true);
    // It did far more than the 2 jobs before its failure: it came back.
    CHECK(j["cards"][0]["jobs_done"].get<int>() > 20);
  }

  TEST_CASE("real time: jobs past their age are dropped and answered, none vanish") {
    fixture fx;
    auto s = fast_settings();
    s.sched.max_age_ns = 30'000'000; // 30 ms budget against a 20 ms card
    auto pool = fx.pool({sim("slow", 20)}, s);
    auto t = std::make_shared<tally>();
    fx.drive(pool, t, 6, 10); // 12 jobs in flight for one 20 ms card
    REQUIRE(wait_all(*t, 60));
    CHECK(t->dropped > 0);
    CHECK(t->ok > 0);
    CHECK(t->ok + t->dropped == 60);
  }

  TEST_CASE("every card gone: jobs are answered as dropped (no_card), the run ends") {
    fixture fx;
    auto s = fast_settings();
    s.sched.orphan_after_ns = 100'000'000;
    sim_faults f;
    f.disappear_after = 1;
    auto pool = fx.pool({sim("vanishes", 1, f)}, s);
    auto t = std::make_shared<tally>();
    fx.drive(pool, t, 2, 5);
    REQUIRE(wait_all(*t, 10));
    CHECK(t->ok >= 1);
    CHECK(t->dropped == 10 - t->ok);
  }

  TEST_CASE("a mixed pool of cpu and sim cards completes and uses both") {
    fixture fx;
    auto pool = fx.pool({std::make_shared<cpu_card>("cpu0", 1), sim("sim0", 1)}, fast_settings());
    auto t = std::make_shared<tally>();
    fx.drive(pool, t, 3, 10);
    REQUIRE(wait_all(*t, 30));
    CHECK(t->ok == 30);
    auto j = status(fx.self, pool);
    CHECK(j["cards"][0]["jobs_done"].get<int>() + j["cards"][1]["jobs_done"].get<int>() == 30);
    CHECK(j["cards"][1]["jobs_done"].get<int>() > 0);
  }
}
