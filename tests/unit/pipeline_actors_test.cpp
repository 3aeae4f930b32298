// The detector and tracker actor shells, driven deterministically by CAF's
// test_coordinator (not CAF's test DSL, which crashes under doctest), with
// mock actors standing in for their neighbours.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include "actors/detector/detector_actor.hpp"
#include "actors/tracker/tracker_actor.hpp"
#include "base/errors.hpp"

using namespace weaver;

namespace {

struct test_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  test_system() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    // The scheduler only runs when told to: do not wait in the destructor.
    sys->await_actors_before_shutdown(false);
  }
  ~test_system() {
    // Stop every actor and let them terminate, so none outlives the system.
    for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }
  template <class... Ts>
  auto spawn(Ts&&... xs) {
    auto handle = sys->spawn(std::forward<Ts>(xs)...);
    actors.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  }
  void run() { sched->run(); }
  std::vector<caf::actor> actors;
};

// Records what a stage sent downstream; acks at once or holds the acks until
// told to release them (to model a slow consumer).
struct sink_log {
  std::vector<detection_batch> batches;
  std::vector<track_batch> tracks;
  std::vector<end_of_stream> eos;
  bool hold = false;
  std::vector<caf::response_promise> held;
};

caf::behavior mock_sink(caf::event_based_actor* self, std::shared_ptr<sink_log> log) {
  auto reply = [=]() -> caf::response_promise {
    auto rp = self->make_response_promise();
    if (log->hold)
      log->held.push_back(rp);
    else
      rp.deliver(caf::ok_atom::value);
    return rp;
  };
  return {[=](detection_batch& b) {
            log->batches.push_back(b);
            return reply();
          },
          [=](track_batch& b) {
            log->tracks.push_back(b);
            return reply();
          },
          [=](end_of_stream& e) {
            log->eos.push_back(e);
            return reply();
          },
          [=](done_atom) {
            for (auto& rp : log->held) rp.deliver(caf::ok_atom::value);
            log->held.clear();
          }};
}

// A pool that answers every job at once with one detection. (The unused
// argument: CAF 0.17 binds a reference to a null tuple when a function actor
// takes none, which UBSan reports.)
fpga_pool_actor::behavior_type mock_pool(fpga_pool_actor::pointer, int) {
  return {[](inference_job& job) {
            detection_batch b;
            b.camera_id = job.input->camera_id;
            b.seq = job.input->seq;
            b.detections.push_back(detection{box{10, 10, 20, 40}, 0.9f, 0, {}, {}});
            return b;
          },
          [](status_atom) { return std::string{"{}"}; }, [](card_done&) {}, [](tick_atom) {}};
}

// A pool that holds every job until told, then answers them newest first,
// dropping (frame_dropped) the ones whose seq is in `drop`: results come
// back out of order, as from cards of different speeds.
struct held_jobs {
  std::vector<std::pair<uint64_t, caf::typed_response_promise<detection_batch>>> jobs;
  std::set<uint64_t> drop;
};

fpga_pool_actor::behavior_type reversing_pool(fpga_pool_actor::pointer self, std::shared_ptr<held_jobs> held) {
  return {[=](inference_job& job) {
            auto rp = self->make_response_promise<detection_batch>();
            held->jobs.emplace_back(job.input->seq, rp);
            return rp;
          },
          [=](status_atom) {
            for (auto it = held->jobs.rbegin(); it != held->jobs.rend(); ++it) {
              if (held->drop.count(it->first)) {
                it->second.deliver(make_error(errc::frame_dropped));
                continue;
              }
              detection_batch b;
              b.camera_id = 1;
              b.seq = it->first;
              it->second.deliver(std::move(b));
            }
            held->jobs.clear();
            return std::string{};
          },
          [](card_done&) {}, [](tick_atom) {}};
}

// Sends requests and records the replies it got.
struct driver_log {
  int oks = 0;
  int errors = 0;
};

caf::behavior driver(caf::event_based_actor* self, std::shared_ptr<driver_log> log) {
  return {
    [=](const detector_actor& det, frame_ptr f) {
      self->request(det, caf::infinite, f).then([=](caf::ok_atom) { log->oks++; }, [=](caf::error&) { log->errors++; });
    },
    [=](const detector_actor& det, end_of_stream e) {
      self->request(det, caf::infinite, e).then([=](caf::ok_atom) { log->oks++; }, [=](caf::error&) { log->errors++; });
    },
    [=](const tracker_actor& trk, detection_batch b) {
      self->request(trk, caf::infinite, b).then([=](caf::ok_atom) { log->oks++; }, [=](caf::error&) { log->errors++; });
    },
    [=](const tracker_actor& trk, end_of_stream e) {
      self->request(trk, caf::infinite, e).then([=](caf::ok_atom) { log->oks++; }, [=](caf::error&) { log->errors++; });
    }};
}

frame_ptr make_frame(uint32_t camera, uint64_t seq) {
  auto f = std::make_shared<frame>();
  f->camera_id = camera;
  f->seq = seq;
  f->capture_ms = 1000 + static_cast<int64_t>(seq) * 100;
  f->image = cv::Mat(64, 64, CV_8UC3, cv::Scalar(0, 0, 0));
  return f;
}

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::detector_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::tracker_actor)

TEST_CASE("detector actor: a full queue holds the camera back until downstream acknowledges") {
  test_system ts;
  auto down = std::make_shared<sink_log>();
  down->hold = true;
  auto tracker = caf::actor_cast<tracker_actor>(ts.spawn(mock_sink, down));
  auto pool = ts.spawn(mock_pool, 0);
  detector_settings s;
  s.queue = 2;
  auto stats = std::make_shared<run_stats>();
  auto det = ts.spawn(detector_actor_impl, s, pool, tracker, stats);
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  for (uint64_t i = 0; i < 3; ++i) caf::anon_send(drv, det, make_frame(1, i));
  ts.run();
  // Two admitted and detected; the third waits for a slot.
  CHECK(log->oks == 2);
  CHECK(down->batches.size() == 2);
  caf::anon_send(caf::actor_cast<caf::actor>(tracker), done_atom::value);
  ts.run();
  CHECK(log->oks == 3);
  CHECK(down->batches.size() == 3);
  // Frame order per camera is kept; each batch says the size of the view
  // its boxes are in (the pool's answer does not).
  for (size_t i = 0; i < down->batches.size(); ++i) {
    CHECK(down->batches[i].seq == i);
    CHECK(down->batches[i].width == 64);
    CHECK(down->batches[i].height == 64);
  }
  // End of stream passes only after every admitted frame is acknowledged.
  caf::anon_send(drv, det, end_of_stream{1, 3});
  ts.run();
  CHECK(down->eos.empty());
  caf::anon_send(caf::actor_cast<caf::actor>(tracker), done_atom::value);
  ts.run();
  REQUIRE(down->eos.size() == 1);
  CHECK(log->oks == 3); // the end of stream's own ack is still held
  caf::anon_send(caf::actor_cast<caf::actor>(tracker), done_atom::value);
  ts.run();
  CHECK(log->oks == 4);
  CHECK(stats->frames_dropped == 0);
  CHECK(stats->detections == 3);
}

TEST_CASE("detector actor: stateless detectors run frames in parallel, batches leave in order") {
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto tracker = caf::actor_cast<tracker_actor>(ts.spawn(mock_sink, down));
  auto held = std::make_shared<held_jobs>();
  held->drop = {2};
  auto pool = ts.spawn(reversing_pool, held);
  detector_settings s;
  s.kind = "hog";
  s.queue = 4;
  auto stats = std::make_shared<run_stats>();
  auto det = ts.spawn(detector_actor_impl, s, pool, tracker, stats);
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  for (uint64_t i = 0; i < 4; ++i) caf::anon_send(drv, det, make_frame(1, i));
  ts.run();
  // All four are in the pool at once (one engine each).
  CHECK(held->jobs.size() == 4);
  CHECK(down->batches.empty());
  caf::anon_send(caf::actor_cast<caf::actor>(pool), status_atom::value);
  ts.run();
  // Answered 3, 2 (dropped), 1, 0: passed on as 0, 1, 3.
  REQUIRE(down->batches.size() == 3);
  CHECK(down->batches[0].seq == 0);
  CHECK(down->batches[1].seq == 1);
  CHECK(down->batches[2].seq == 3);
  CHECK(log->oks == 4);
  // Slots were all released: four more frames go straight to the pool.
  for (uint64_t i = 4; i < 8; ++i) caf::anon_send(drv, det, make_frame(1, i));
  ts.run();
  CHECK(held->jobs.size() == 4);
}

// Records the engine of each job and holds the jobs (never answers).
fpga_pool_actor::behavior_type engine_recording_pool(fpga_pool_actor::pointer self,
                                                     std::shared_ptr<std::vector<std::shared_ptr<workload>>> seen) {
  return {[=](inference_job& job) {
            seen->push_back(job.work);
            return self->make_response_promise<detection_batch>();
          },
          [](status_atom) { return std::string{}; }, [](card_done&) {}, [](tick_atom) {}};
}

TEST_CASE("detector actor: engines prepared ahead for a camera are used before new ones") {
  // Real time prepares each camera's engines before its cameras start
  // (services/runtime.cpp), so its first frames do not wait for them.
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto tracker = caf::actor_cast<tracker_actor>(ts.spawn(mock_sink, down));
  auto seen = std::make_shared<std::vector<std::shared_ptr<workload>>>();
  auto pool = ts.spawn(engine_recording_pool, seen);
  detector_settings s;
  s.kind = "hog";
  s.queue = 3;
  std::vector<std::shared_ptr<detector>> ready{make_detector("hog"), make_detector("hog")};
  s.prepared[1] = ready;
  auto det = ts.spawn(detector_actor_impl, s, pool, tracker, std::make_shared<run_stats>());
  auto drv = ts.spawn(driver, std::make_shared<driver_log>());
  for (uint64_t i = 0; i < 3; ++i) caf::anon_send(drv, det, make_frame(1, i));
  caf::anon_send(drv, det, make_frame(2, 0));
  ts.run();
  REQUIRE(seen->size() == 4);
  std::set<workload*> prepared{ready[0].get(), ready[1].get()};
  std::set<workload*> first_two{(*seen)[0].get(), (*seen)[1].get()};
  CHECK(first_two == prepared); // camera 1 took its two prepared engines
  CHECK(prepared.count((*seen)[2].get()) == 0); // then made a third
  CHECK(prepared.count((*seen)[3].get()) == 0); // camera 2 had none prepared
  CHECK((*seen)[2] != (*seen)[3]);
}

TEST_CASE("detector actor: in real time a full queue drops the frame and counts it") {
  test_system ts;
  auto down = std::make_shared<sink_log>();
  down->hold = true;
  auto tracker = caf::actor_cast<tracker_actor>(ts.spawn(mock_sink, down));
  detector_settings s;
  s.queue = 1;
  s.realtime = true;
  auto stats = std::make_shared<run_stats>();
  auto det = ts.spawn(detector_actor_impl, s, ts.spawn(mock_pool, 0), tracker, stats);
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  for (uint64_t i = 0; i < 4; ++i) caf::anon_send(drv, det, make_frame(2, i));
  ts.run();
  CHECK(log->oks == 4); // the camera never waits in real time
  CHECK(down->batches.size() == 1); // one admitted
  CHECK(stats->frames_dropped == 3);
}

TEST_CASE("tracker actor: tracks one person, ends the track at end of stream, acks after re-id") {
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto reid = caf::actor_cast<reid_actor>(ts.spawn(mock_sink, down));
  sort_config sc;
  sc.min_hits = 3;
  auto stats = std::make_shared<run_stats>();
  auto trk = ts.spawn(tracker_actor_impl, sc, reid, stats, tracker_extras{});
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  for (uint64_t i = 0; i < 6; ++i) {
    detection_batch b;
    b.camera_id = 5;
    b.seq = i;
    b.capture_ms = 1000 + static_cast<int64_t>(i) * 100;
    b.detections.push_back(detection{box{100.f + 3 * i, 50, 30, 80}, 0.9f, 0, {}, {}});
    caf::anon_send(drv, trk, b);
  }
  caf::anon_send(drv, trk, end_of_stream{5, 6});
  ts.run();
  CHECK(log->oks == 7);
  CHECK(log->errors == 0);
  REQUIRE(down->tracks.size() == 7); // one batch per frame + the flush
  int started = 0, ended = 0;
  for (auto& tb : down->tracks)
    for (auto& e : tb.events) {
      started += e.state == track_state::started;
      ended += e.state == track_state::ended;
      CHECK(e.camera_id == 5);
    }
  CHECK(started == 1);
  CHECK(ended == 1);
  REQUIRE(down->eos.size() == 1);
  CHECK(stats->tracks == 1);
}

TEST_CASE("tracker actor: zones edited at run time are evaluated from the next batch on") {
  // One person walks right along y = 130 (their foot), 20 px a frame, in a
  // 400 x 200 frame. Zone "left" (x 0-100) is configured; after frame 2,
  // while they stand in it, an edit replaces it by "right" (x 200-400) and
  // a line "gate" at x = 170.
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto reid = caf::actor_cast<reid_actor>(ts.spawn(mock_sink, down));
  sort_config sc;
  sc.min_hits = 1;
  auto stats = std::make_shared<run_stats>();
  const zone_def left{"left", {{0, 100}, {100, 100}, {100, 200}, {0, 200}}};
  tracker_extras extras;
  extras.zones.emplace_back(5, std::vector<zone_def>{left}, std::vector<line_def>{});
  auto edits = std::make_shared<zone_registry>(std::map<uint32_t, zone_shapes>{{5, {{left}, {}}}});
  extras.zone_edits = edits;
  auto trk = ts.spawn(tracker_actor_impl, sc, reid, stats, extras);
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  auto frame_at = [&](uint64_t i) {
    detection_batch b;
    b.camera_id = 5;
    b.seq = i;
    b.capture_ms = 1000 + static_cast<int64_t>(i) * 100;
    b.width = 400;
    b.height = 200;
    b.detections.push_back(detection{box{20.f * i, 50, 80, 80}, 0.9f, 0, {}, {}}); // foot at x = 40 + 20 i
    caf::anon_send(drv, trk, b);
  };
  for (uint64_t i = 0; i < 3; ++i) frame_at(i);
  ts.run();
  REQUIRE(edits->size_of(5)); // the tracker noted the frame size edits are checked against
  CHECK(edits->size_of(5)->width == 400);
  auto visits = [&] {
    std::vector<zone_visit> out;
    for (auto& tb : down->tracks) out.insert(out.end(), tb.zone_visits.begin(), tb.zone_visits.end());
    return out;
  };
  auto before = visits();
  REQUIRE(before.size() == 1);
  CHECK(before[0].zone == "left");
  CHECK(before[0].exit_ms < 0); // inside
  const auto edit_batch = down->tracks.size();
  REQUIRE(
    edits->set(5, {{{"right", {{200, 100}, {400, 100}, {400, 200}, {200, 200}}}}, {{"gate", {170, 0}, {170, 200}}}}));
  for (uint64_t i = 3; i < 16; ++i) frame_at(i);
  ts.run();
  CHECK(log->oks == 16);
  std::vector<zone_visit> after;
  for (size_t k = edit_batch; k < down->tracks.size(); ++k)
    after.insert(after.end(), down->tracks[k].zone_visits.begin(), down->tracks[k].zone_visits.end());
  // The stay in "left" closed by the edit (at the last time seen before it,
  // not when the person walked out of the old polygon, 1300 or later), then
  // "right" entered once they reached x 200; "left" never again.
  REQUIRE(after.size() == 2);
  CHECK(after[0].zone == "left");
  CHECK(after[0].enter_ms == before[0].enter_ms);
  CHECK(after[0].exit_ms == 1200);
  CHECK(after[1].zone == "right");
  CHECK(after[1].exit_ms < 0);
  CHECK(after[1].enter_ms >= 1800);
  CHECK(after[1].enter_ms <= 2000);
  // enter left, its closing exit, the crossing of "gate", enter right.
  CHECK(stats->zone_events == 4);
}

TEST_CASE("detector actor: a stateful detector has one frame in the pool at a time, in order") {
  // Motion learns from every frame in order: safe whatever the pool allows
  // (reversing_pool takes any number and answers newest first).
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto tracker = caf::actor_cast<tracker_actor>(ts.spawn(mock_sink, down));
  auto held = std::make_shared<held_jobs>();
  held->drop = {1};
  auto pool = ts.spawn(reversing_pool, held);
  detector_settings s;
  s.kind = "motion";
  s.queue = 4;
  auto stats = std::make_shared<run_stats>();
  auto det = ts.spawn(detector_actor_impl, s, pool, tracker, stats);
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  for (uint64_t i = 0; i < 4; ++i) caf::anon_send(drv, det, make_frame(1, i));
  ts.run();
  CHECK(log->oks == 4); // all four admitted
  std::vector<uint64_t> sent;
  for (int round = 0; round < 6 && !held->jobs.empty(); ++round) {
    CHECK(held->jobs.size() == 1);
    sent.push_back(held->jobs.front().first);
    caf::anon_send(caf::actor_cast<caf::actor>(pool), status_atom::value);
    ts.run();
  }
  CHECK(sent == std::vector<uint64_t>{0, 1, 2, 3});
  REQUIRE(down->batches.size() == 3); // 1 was dropped by the pool
  CHECK(down->batches[0].seq == 0);
  CHECK(down->batches[1].seq == 2);
  CHECK(down->batches[2].seq == 3);
}

TEST_CASE("tracker actor: a restored tracker runs with the configured max_age and min_hits") {
  // The snapshot holds tracks, not the configuration: a tracker restored
  // from one must still confirm after min_hits (here 1, the default is 3).
  auto path = std::filesystem::temp_directory_path() / "weaver-tracker-restore-test.json";
  {
    nlohmann::json j;
    j["5"] = make_camera_tracker("sort", 5, sort_config{}, deep_sort_config{})->snapshot();
    std::ofstream(path) << j.dump();
  }
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto reid = caf::actor_cast<reid_actor>(ts.spawn(mock_sink, down));
  sort_config sc;
  sc.min_hits = 1;
  tracker_extras extras;
  extras.kind = "sort";
  extras.state_file = path.string();
  auto trk = ts.spawn(tracker_actor_impl, sc, reid, std::make_shared<run_stats>(), extras);
  auto drv = ts.spawn(driver, std::make_shared<driver_log>());
  detection_batch b;
  b.camera_id = 5;
  b.capture_ms = 1000;
  b.detections.push_back(detection{box{100, 50, 30, 80}, 0.9f, 0, {}, {}});
  caf::anon_send(drv, trk, b);
  ts.run();
  std::filesystem::remove(path);
  REQUIRE(down->tracks.size() == 1);
  int started = 0;
  for (auto& e : down->tracks[0].events) started += e.state == track_state::started;
  CHECK(started == 1);
}

namespace {

// A re-id that fails every track batch and acknowledges ends of stream.
caf::behavior failing_reid(caf::event_based_actor*, std::shared_ptr<sink_log> log) {
  return {[=](track_batch& b) -> caf::result<caf::ok_atom> {
            log->tracks.push_back(b);
            return caf::make_error(caf::sec::runtime_error, "store unreachable");
          },
          [=](end_of_stream& e) {
            log->eos.push_back(e);
            return caf::ok_atom::value;
          }};
}

} // namespace

TEST_CASE("tracker actor: a flush re-id did not take fails the end of stream") {
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto reid = caf::actor_cast<reid_actor>(ts.spawn(failing_reid, down));
  auto trk = ts.spawn(tracker_actor_impl, sort_config{}, reid, std::make_shared<run_stats>(), tracker_extras{});
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  caf::anon_send(drv, trk, end_of_stream{5, 0});
  ts.run();
  CHECK(down->tracks.size() == 1); // the flush was sent
  CHECK(log->oks == 0);
  CHECK(log->errors == 1); // and its failure reached the camera
}

TEST_CASE("tracker actor: a restart from the snapshot takes re-sent batches once, in order, and waits for re-id") {
  // Exactly once across a kill -9 (README, "Exactly once across crashes"):
  // the snapshot is saved before a batch is acknowledged, a restarted
  // tracker acknowledges what it covers without tracking it again, and
  // while re-id holds one batch's ack no other batch is processed.
  auto path = std::filesystem::temp_directory_path() / "weaver-tracker-once-test.json";
  std::filesystem::remove(path);
  auto batch = [](uint64_t seq) {
    detection_batch b;
    b.camera_id = 5;
    b.seq = seq;
    b.capture_ms = 1000 + static_cast<int64_t>(seq) * 100;
    b.detections.push_back(detection{box{100.f + seq, 50, 30, 80}, 0.9f, 0, {}, {}});
    return b;
  };
  sort_config sc;
  sc.min_hits = 1;
  tracker_extras extras;
  extras.kind = "sort";
  extras.state_file = path.string();
  std::vector<track_batch> first_life;
  {
    test_system ts;
    auto down = std::make_shared<sink_log>();
    down->hold = true;
    auto reid = caf::actor_cast<reid_actor>(ts.spawn(mock_sink, down));
    auto trk = ts.spawn(tracker_actor_impl, sc, reid, std::make_shared<run_stats>(), extras);
    auto log = std::make_shared<driver_log>();
    auto drv = ts.spawn(driver, log);
    for (uint64_t s = 0; s < 3; ++s) caf::anon_send(drv, trk, batch(s));
    ts.run();
    CHECK(down->tracks.size() == 1); // the others wait for its ack
    CHECK_FALSE(std::filesystem::exists(path));
    for (int i = 0; i < 3; ++i) {
      caf::anon_send(caf::actor_cast<caf::actor>(reid), done_atom::value);
      ts.run();
    }
    CHECK(down->tracks.size() == 3);
    CHECK(log->oks == 3);
    first_life = down->tracks;
  }
  // "Killed" after batch 2 was saved and before its ack reached upstream:
  // upstream re-sends 1 and 2, then sends 3.
  test_system ts;
  auto down = std::make_shared<sink_log>();
  auto reid = caf::actor_cast<reid_actor>(ts.spawn(mock_sink, down));
  auto trk = ts.spawn(tracker_actor_impl, sc, reid, std::make_shared<run_stats>(), extras);
  auto log = std::make_shared<driver_log>();
  auto drv = ts.spawn(driver, log);
  for (uint64_t s = 1; s < 4; ++s) caf::anon_send(drv, trk, batch(s));
  caf::anon_send(drv, trk, end_of_stream{5, 4});
  caf::anon_send(drv, trk, end_of_stream{5, 4}); // re-sent too
  ts.run();
  std::filesystem::remove(path);
  CHECK(log->oks == 5);
  REQUIRE(down->tracks.size() == 2); // batch 3 and the flush, once each
  CHECK(down->tracks[0].seq == 3);
  CHECK(down->eos.size() == 1);
  // The track continues under the id of the first life.
  REQUIRE(!first_life.back().events.empty());
  REQUIRE(!down->tracks[0].events.empty());
  CHECK(down->tracks[0].events[0].track_id == first_life.back().events[0].track_id);
  // The flush has a position after batch 3's: re-id does not take it for a repeat.
  CHECK(down->tracks[1].seq == 4);
  CHECK(down->tracks[1].time_ms == 1300);
}
