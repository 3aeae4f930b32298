#include "tools/eval/eval_replay.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <unistd.h>

#include "actors/reid/reid_engine.hpp"
#include "actors/storage/store.hpp"

using namespace weaver;

namespace {

// Two cameras, one person walking from 1 to 2, one only on 2; boxes and
// features as a tracker sends them.
std::vector<reid_input> two_cameras() {
  std::vector<reid_input> out;
  auto event = [](uint32_t cam, uint64_t track, track_state s, timestamp_ms t, std::vector<float> f) {
    track_event e;
    e.camera_id = cam;
    e.track_id = track;
    e.state = s;
    e.time_ms = t;
    e.bbox = {10.f + float(t) / 100.f, 50, 40, 80};
    e.feature = std::move(f);
    return e;
  };
  const std::vector<float> a{1, 0, 0}, b{0, 1, 0};
  for (timestamp_ms t = 0; t <= 20000; t += 500) {
    for (uint32_t cam : {1u, 2u}) {
      track_batch tb;
      tb.camera_id = cam;
      tb.seq = uint64_t(t / 500);
      tb.time_ms = t;
      if (cam == 1 && t == 1000) tb.events.push_back(event(1, 1, track_state::started, 1000, a));
      if (cam == 1 && t > 1000 && t <= 5000) tb.events.push_back(event(1, 1, track_state::updated, t, {}));
      if (cam == 1 && t == 6000) tb.events.push_back(event(1, 1, track_state::ended, 5000, a));
      if (cam == 2 && t == 7000) tb.events.push_back(event(2, 1, track_state::started, 7000, a));
      if (cam == 2 && t == 13000) tb.events.push_back(event(2, 1, track_state::ended, 12000, a));
      if (cam == 2 && t == 8000) tb.events.push_back(event(2, 2, track_state::started, 8000, b));
      if (cam == 2 && t == 15000) tb.events.push_back(event(2, 2, track_state::ended, 14000, b));
      out.emplace_back(std::move(tb));
    }
  }
  out.emplace_back(end_of_stream{1, 41});
  out.emplace_back(end_of_stream{2, 41});
  return out;
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() : path(std::filesystem::temp_directory_path() / ("weaver-replay-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

config two_camera_config() {
  config cfg;
  for (uint32_t id : {1u, 2u}) {
    camera_config c;
    c.id = id;
    c.name = "cam" + std::to_string(id);
    c.zone = "zone" + std::to_string(id);
    cfg.cameras.push_back(c);
  }
  return cfg;
}

} // namespace

TEST_CASE("eval_replay: a recording reads back as written") {
  temp_dir dir;
  const auto input = two_cameras();
  const auto file = reid_recording_path(dir.path.string());
  {
    reid_recorder rec(file);
    for (const auto& in : input) {
      if (auto* tb = std::get_if<track_batch>(&in))
        rec.write(*tb);
      else
        rec.write(std::get<end_of_stream>(in));
    }
  }
  auto back = read_reid_recording(file);
  REQUIRE(back.size() == input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    CAPTURE(i);
    REQUIRE(back[i].index() == input[i].index());
    if (auto* tb = std::get_if<track_batch>(&input[i])) {
      const auto& got = std::get<track_batch>(back[i]);
      CHECK(got.camera_id == tb->camera_id);
      CHECK(got.time_ms == tb->time_ms);
      REQUIRE(got.events.size() == tb->events.size());
      for (size_t k = 0; k < got.events.size(); ++k) {
        CHECK(got.events[k].track_id == tb->events[k].track_id);
        CHECK(got.events[k].state == tb->events[k].state);
        CHECK(got.events[k].time_ms == tb->events[k].time_ms);
        CHECK(got.events[k].bbox == tb->events[k].bbox);
        CHECK(got.events[k].feature == tb->events[k].feature);
      }
    } else {
      CHECK(std::get<end_of_stream>(back[i]).camera_id == std::get<end_of_stream>(input[i]).camera_id);
    }
  }
}

TEST_CASE("eval_replay: a replay stores what re-id gives, and a broken recording is refused by name") {
  temp_dir dir;
  const auto input = two_cameras();
  const auto db = (dir.path / "replay.db").string();
  const auto cfg = two_camera_config();
  auto r = replay_reid(cfg, input, db);
  CHECK(r.batches == input.size());
  CHECK(r.people == 2);
  CHECK(r.identities == 3);
  {
    auto st = store::open(db);
    std::map<std::pair<uint32_t, uint64_t>, uint64_t> person;
    for (const auto& i : st->identity_rows()) person[{i.camera_id, i.track_id}] = i.person_id;
    REQUIRE(person.size() == 3);
    CHECK(person[{1, 1}] == person[{2, 1}]);
    CHECK(person[{2, 2}] != person[{2, 1}]);
    CHECK(st->presence_count() == 3);
  }
  // Again into the same store: emptied first, the same answer.
  replay_reid(cfg, input, db);
  CHECK(store::open(db)->presence_count() == 3);

  const auto bad = (dir.path / "bad.rec").string();
  std::ofstream(bad) << "not a recording\n";
  CHECK_THROWS_WITH_AS(read_reid_recording(bad), doctest::Contains("not a re-id recording"), std::runtime_error);
  // A record cut short names its index.
  const auto file = (dir.path / "cut.rec").string();
  {
    reid_recorder rec(file);
    rec.write(std::get<track_batch>(input[0]));
    rec.write(std::get<track_batch>(input[1]));
  }
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 3);
  CHECK_THROWS_WITH_AS(read_reid_recording(file), doctest::Contains("record 1 is cut short"), std::runtime_error);
  CHECK_THROWS_AS(reid_recorder((dir.path / "no" / "such" / "dir.rec").string()), std::runtime_error);
}
