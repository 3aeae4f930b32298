// The sim card: its service-time model and faults (pure, seeded), and the
// threaded card producing real results (delegated, replayed) on its clock.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>

#include "accel/detect/detector.hpp"
#include "accel/sim_card.hpp"

using namespace weaver;

namespace {

double mean_of(sim_model& m, int n, double* cv = nullptr) {
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    double s = m.take(1, 0).service_s;
    sum += s;
    sq += s * s;
  }
  double mean = sum / n;
  if (cv) *cv = std::sqrt(std::max(0.0, sq / n - mean * mean)) / mean;
  return mean;
}

inference_job job_of(uint32_t camera, uint64_t seq, std::shared_ptr<detector> engine = nullptr) {
  auto f = std::make_shared<frame>();
  f->camera_id = camera;
  f->seq = seq;
  f->image = cv::Mat(48, 64, CV_8UC3, cv::Scalar(0, 0, 0));
  return inference_job{f, std::move(engine), 0};
}

// Submits one batch and waits (bounded) for its completion.
std::optional<batch_result> run_batch(card& c, std::vector<card_job> jobs,
                                      std::chrono::milliseconds wait = std::chrono::seconds{10}) {
  auto p = std::make_shared<std::promise<batch_result>>();
  auto fut = p->get_future();
  c.submit(std::move(jobs), [p](batch_result r) { p->set_value(std::move(r)); });
  if (fut.wait_for(wait) != std::future_status::ready) return std::nullopt;
  return fut.get();
}

} // namespace

TEST_SUITE("sim_card") {
  TEST_CASE("service times follow the configured distribution") {
    for (auto dist : {"constant", "exponential", "lognormal", "uniform"}) {
      CAPTURE(dist);
      sim_card_options o;
      o.distribution = dist;
      o.cv = 0.2;
      sim_model m{o};
      double cv = 0;
      double mean = mean_of(m, 20000, &cv);
      CHECK(mean == doctest::Approx(0.0758).epsilon(0.03));
      if (std::string(dist) == "constant") CHECK(cv < 1e-6);
      if (std::string(dist) == "exponential") CHECK(cv == doctest::Approx(1.0).epsilon(0.05));
      if (std::string(dist) == "lognormal" || std::string(dist) == "uniform")
        CHECK(cv == doctest::Approx(0.2).epsilon(0.05));
    }
    sim_card_options bad;
    bad.distribution = "pareto";
    CHECK_THROWS_WITH_AS(sim_model{bad}, doctest::Contains("unknown distribution 'pareto'"), std::invalid_argument);
  }

  TEST_CASE("batch speed-up curve: cost of a batch and its service time") {
    sim_card_options o;
    o.distribution = "constant";
    o.mean_ms = 100;
    o.batch_speedup = {1.0, 1.6, 2.1, 2.5};
    sim_model m{o};
    CHECK(m.max_batch() == 4);
    CHECK(m.batch_cost(1) == doctest::Approx(1.0));
    CHECK(m.batch_cost(2) == doctest::Approx(2 / 1.6));
    CHECK(m.batch_cost(4) == doctest::Approx(1.6));
    CHECK(m.take(4, 0).service_s == doctest::Approx(0.16));
    sim_card_options flat;
    CHECK(sim_model{flat}.max_batch() == 1);
    CHECK(sim_model{flat}.batch_cost(3) == doctest::Approx(3.0));
  }

  TEST_CASE("fpga: the service time is the weaver_dnn cycle model's frame time for the layers, card and PE array") {
    // By hand, U50 at 300 MHz, 16x16 PEs, DDR 2 x 64 B x 300 MHz x 0.7 = 26.88 GB/s:
    //   conv 3x3 32x32x32 -> 32x32x64: tiles 16x16 (2 x 2), 4 output- x 2 input-channel
    //     tiles: 4 * 4 * 2 * (9 * 256 + 24) = 74,496 cycles = 0.24832 ms; its 305,152
    //     bytes take 0.01135 ms, so compute bounds it;
    //   maxpool 32x32x64 -> 16x16x64 and add 16x16x64: 16,384 cycles each = 0.0546133 ms.
    std::vector<hls_cycles::layer_shape> layers(3);
    layers[0].kind = "conv";
    layers[0].h = layers[0].w = 32, layers[0].c = 32;
    layers[0].ho = layers[0].wo = 32, layers[0].co = 64;
    layers[0].k = 3;
    layers[1].kind = "maxpool";
    layers[1].h = layers[1].w = 32, layers[1].c = 64;
    layers[1].ho = layers[1].wo = 16, layers[1].co = 64;
    layers[1].k = layers[1].stride = 2;
    layers[2].kind = "add";
    layers[2].h = layers[2].w = layers[2].ho = layers[2].wo = 16, layers[2].c = layers[2].co = 64;
    const double by_hand_ms = 0.24832 + 2 * 16384 / 300e3;
    sim_card_options o;
    o.distribution = "constant";
    o.results = "none";
    o.fpga.card = "U50";
    o.fpga.pe = "16x16";
    o.fpga.layers = layers;
    sim_model m{o};
    CHECK(m.mean_ms() == doctest::Approx(by_hand_ms).epsilon(1e-9));
    CHECK(m.take(1, 0).service_s * 1000 == doctest::Approx(by_hand_ms).epsilon(1e-9));
    CHECK(m.mean_ms()
          == doctest::Approx(hls_cycles::frame_ms(layers, {16, 16}, hls_cycles::card_named("u50"))).epsilon(1e-12));
    sim_card c{o};
    CHECK(c.info().nominal_service_s * 1000 == doctest::Approx(by_hand_ms).epsilon(1e-9));
    CHECK(c.info().details.find("cycle model: U50 16x16 PEs, 3 layers") != std::string::npos);
    auto r = run_batch(c, {{1, job_of(1, 0)}});
    REQUIRE(r);
    CHECK(r->ok);

    // A wider array: the conv's tiles fall to 2 x 1 channel tiles (2 * 4 * 2328
    // cycles); pool and add are unchanged (one element per cycle).
    o.fpga.pe = "32x32";
    CHECK(sim_model{o}.mean_ms() == doctest::Approx(2 * 4 * 2328 / 300e3 + 2 * 16384 / 300e3).epsilon(1e-9));

    auto bad = o;
    bad.fpga.card = "U280";
    CHECK_THROWS_WITH_AS(sim_model{bad}, doctest::Contains("unknown FPGA card 'U280' (known: U50, U250)"),
                         std::invalid_argument);
    bad = o;
    bad.fpga.pe = "32";
    CHECK_THROWS_WITH_AS(sim_model{bad}, doctest::Contains("PE array '32'"), std::invalid_argument);
    bad = o;
    bad.fpga.layers.clear();
    CHECK_THROWS_WITH_AS(sim_model{bad}, doctest::Contains("no layers"), std::invalid_argument);
  }

  TEST_CASE("faults fire after N jobs; failures and hangs recover, disappearance does not") {
    sim_card_options o;
    o.distribution = "constant";
    SUBCASE("fail after 3 jobs, recover after 100 ms") {
      o.faults.fail_after = 3;
      o.faults.recover_after_ms = 100;
      sim_model m{o};
      CHECK(m.take(2, 0).what == sim_model::outcome::ok); // jobs 1-2
      CHECK(m.take(1, 0).what == sim_model::outcome::ok); // job 3
      CHECK(m.take(1, 10).what == sim_model::outcome::fail); // job 4
      CHECK(m.take(1, 20).what == sim_model::outcome::fail); // still broken
      std::string why;
      CHECK_FALSE(m.probe(50, &why));
      CHECK(why == "device failed");
      CHECK(m.probe(111, &why));
      CHECK(m.take(1, 120).what == sim_model::outcome::ok); // fires once
    }
    SUBCASE("hang after 1 job, no recovery") {
      o.faults.hang_after = 1;
      sim_model m{o};
      CHECK(m.take(1, 0).what == sim_model::outcome::ok);
      CHECK(m.take(1, 0).what == sim_model::outcome::hang);
      std::string why;
      CHECK_FALSE(m.probe(1'000'000, &why));
      CHECK(why == "device hung");
    }
    SUBCASE("slow down after 2 jobs") {
      o.faults.slow_after = 2;
      o.faults.slow_factor = 4;
      sim_model m{o};
      CHECK(m.take(2, 0).service_s == doctest::Approx(2 * 0.0758));
      CHECK(m.take(1, 0).service_s == doctest::Approx(4 * 0.0758));
    }
    SUBCASE("disappear after 0 jobs") {
      o.faults.disappear_after = 0;
      o.faults.recover_after_ms = 1;
      sim_model m{o};
      CHECK(m.take(1, 0).what == sim_model::outcome::fail);
      std::string why;
      CHECK_FALSE(m.probe(1'000'000, &why));
      CHECK(why == "device disappeared");
    }
  }

  TEST_CASE("the threaded card: results on the model's clock, delegated or replayed") {
    SUBCASE("delegate: the CPU engine's detections, one result per job in order") {
      sim_card_options o;
      o.distribution = "constant";
      o.mean_ms = 30;
      o.batch_speedup = {1, 2};
      sim_card c{o};
      CHECK(c.info().kind == "sim");
      CHECK(c.info().max_batch == 2);
      detector_options d;
      std::shared_ptr<detector> e1 = make_detector("motion", d), e2 = make_detector("motion", d);
      auto t0 = std::chrono::steady_clock::now();
      auto r = run_batch(c, {card_job{7, job_of(1, 0, e1)}, card_job{8, job_of(2, 0, e2)}});
      auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      REQUIRE(r);
      CHECK(r->ok);
      REQUIRE(r->results.size() == 2);
      CHECK(r->results[0].ticket == 7);
      CHECK(r->results[1].ticket == 8);
      CHECK(r->results[1].batch.camera_id == 2);
      CHECK(r->results[0].ok);
      // The card's time is never below the model's (30 ms for a batch of 2 at
      // speed-up 2); an upper bound would be a wall-clock assertion.
      CHECK(r->service_s >= 0.029);
      CHECK(took >= 0.029);
    }
    SUBCASE("replay: recorded MOT detections by camera and frame") {
      auto dir = std::filesystem::temp_directory_path() / "weaver_sim_replay_test";
      std::filesystem::create_directories(dir);
      std::ofstream(dir / "cam3.txt") << "1,-1,10,20,30,60,0.9,-1,-1,-1\n2,-1,11,21,30,60,0.8,-1,-1,-1\n"
                                         "2,-1,100,20,30,60,0.7,-1,-1,-1\n";
      sim_card_options o;
      o.distribution = "constant";
      o.mean_ms = 1;
      o.results = "replay";
      o.replay_dir = dir.string();
      sim_card c{o};
      auto r = run_batch(c, {card_job{1, job_of(3, 1)}});
      REQUIRE(r);
      REQUIRE(r->results.size() == 1);
      REQUIRE(r->results[0].batch.detections.size() == 2);
      CHECK(r->results[0].batch.detections[1].bbox.x == doctest::Approx(100));
      CHECK(r->results[0].batch.detections[0].score == doctest::Approx(0.8f));
      auto missing = run_batch(c, {card_job{2, job_of(4, 0)}});
      REQUIRE(missing);
      CHECK_FALSE(missing->results[0].ok);
      CHECK(missing->results[0].error.find("cam4.txt: cannot open") != std::string::npos);
      std::filesystem::remove_all(dir);
    }
    SUBCASE("a failing card fails whole batches; a hung one never completes") {
      sim_card_options o;
      o.distribution = "constant";
      o.mean_ms = 1;
      o.results = "none";
      o.faults.fail_after = 1;
      sim_card c{o};
      auto ok = run_batch(c, {card_job{1, job_of(1, 0)}});
      REQUIRE(ok);
      CHECK(ok->ok);
      auto bad = run_batch(c, {card_job{2, job_of(1, 1)}});
      REQUIRE(bad);
      CHECK_FALSE(bad->ok);
      CHECK(bad->error == "simulated card failure");
      std::string why;
      CHECK_FALSE(c.probe(&why));

      sim_card_options h = o;
      h.faults = {};
      h.faults.hang_after = 0;
      sim_card hung{h};
      CHECK_FALSE(run_batch(hung, {card_job{3, job_of(1, 0)}}, std::chrono::milliseconds{200}));
      // Destroying a hung card returns (its batches are dropped, not waited for).
    }
  }

  TEST_CASE("read_mot_detections names the file and line of a bad row") {
    auto path = std::filesystem::temp_directory_path() / "weaver_bad_det.txt";
    std::ofstream(path) << "1,-1,1,2,3,4,0.5\nnot,a,row\n";
    CHECK_THROWS_WITH_AS(read_mot_detections(path.string()), doctest::Contains("weaver_bad_det.txt:2"),
                         std::runtime_error);
    std::filesystem::remove(path);
  }
}
