#include "tools/eval/eval_replay.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

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

TEST_CASE("eval_replay: repair_recording joins a broken track as the tracker role would, and logs its boxes") {
  temp_dir dir;
  // One camera, a 400 x 300 crop; one person walking right, lost for frames
  // 11-15: the tracker (confirmation after 3 hits, ended 5 frames after the
  // last match) reports two tracks.
  config cfg = two_camera_config();
  cfg.cameras.resize(1);
  cfg.cameras[0].crop = std::vector<int>{0, 0, 400, 300};
  auto walk = [](int f) { return box{50.f + 4.f * float(f), 100, 30, 75}; };
  const std::vector<float> look{1, 0, 0};
  std::vector<reid_input> input;
  for (int f = 0; f <= 45; ++f) {
    track_batch tb;
    tb.camera_id = 1;
    tb.seq = uint64_t(f);
    tb.time_ms = f * 100;
    auto event = [&](uint64_t id, track_state s, int at) {
      track_event e;
      e.camera_id = 1;
      e.track_id = id;
      e.state = s;
      e.time_ms = at * 100;
      e.frame_seq = uint64_t(at);
      e.bbox = walk(s == track_state::started ? f : at); // `started`: the confirming box
      e.feature = look;
      tb.events.push_back(e);
    };
    if (f == 2) event(1, track_state::started, 0);
    if (f > 2 && f <= 10) event(1, track_state::updated, f);
    if (f == 16) event(1, track_state::ended, 10);
    if (f == 18) event(2, track_state::started, 16);
    if (f > 18 && f <= 40) event(2, track_state::updated, f);
    input.emplace_back(std::move(tb));
  }
  track_batch flush; // the tracker's flush ends track 2
  flush.camera_id = 1;
  flush.seq = 46;
  flush.time_ms = 4500;
  track_event end;
  end.camera_id = 1;
  end.track_id = 2;
  end.state = track_state::ended;
  end.time_ms = 4000;
  end.frame_seq = 40;
  end.bbox = walk(40);
  end.feature = look;
  flush.events.push_back(end);
  input.emplace_back(flush);
  input.emplace_back(end_of_stream{1, 47});

  auto ids = [](const std::vector<reid_input>& in, track_state s) {
    std::vector<uint64_t> out;
    for (const auto& x : in)
      if (const auto* tb = std::get_if<track_batch>(&x))
        for (const auto& e : tb->events)
          if (e.state == s) out.push_back(e.track_id);
    return out;
  };
  SUBCASE("fill: one track for re-id, interpolated boxes logged, features compacted") {
    cfg.tracker.repair = "fill";
    const auto out = repair_recording(cfg, input, 768, 576, (dir.path / "fill").string());
    CHECK(ids(out, track_state::started) == std::vector<uint64_t>{1});
    CHECK(ids(out, track_state::ended) == std::vector<uint64_t>{1});
    REQUIRE(std::holds_alternative<end_of_stream>(out.back()));
    for (const auto& x : out)
      if (const auto* tb = std::get_if<track_batch>(&x))
        for (const auto& e : tb->events) CHECK(e.feature.empty() == (e.state != track_state::ended));
    std::ifstream log(dir.path / "fill" / "cam1.txt");
    std::set<int> frames;
    std::set<std::string> track_ids;
    for (std::string line; std::getline(log, line);) {
      frames.insert(std::stoi(line.substr(0, line.find(','))));
      track_ids.insert(line.substr(line.find(',') + 1, line.find(',', line.find(',') + 1) - line.find(',') - 1));
    }
    CHECK(track_ids == std::set<std::string>{"1"});
    CHECK(frames.size() == 39); // frames 3..41 (1-based): confirmation to the last box, the gap filled
    CHECK(*frames.begin() == 3);
    CHECK(*frames.rbegin() == 41);
  }
  SUBCASE("off: the recording as it was, compacted") {
    cfg.tracker.repair = "off";
    const auto out = repair_recording(cfg, input, 768, 576, (dir.path / "off").string());
    REQUIRE(out.size() == input.size());
    CHECK(ids(out, track_state::started) == std::vector<uint64_t>{1, 2});
    CHECK(ids(out, track_state::ended) == std::vector<uint64_t>{1, 2});
    CHECK(std::filesystem::exists(dir.path / "off" / "cam1.txt"));
  }
}
