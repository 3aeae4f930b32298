// Camera snapshots: a real JPEG of the frame the boxes belong to, scaled to
// max_width, and encoded at most max_fps times a second per camera however
// often it is asked (the time is passed in: no wall clock).
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>

#include "services/gateway/snapshots.hpp"

using namespace weaver;
using namespace weaver::gateway;
using namespace std::chrono_literals;

namespace {

frame_ptr make_frame(uint32_t camera, uint64_t seq, int w = 320, int h = 240) {
  auto f = std::make_shared<frame>();
  f->camera_id = camera;
  f->seq = seq;
  f->capture_ms = 1'700'000'000'000 + static_cast<timestamp_ms>(seq) * 40;
  f->image = cv::Mat(h, w, CV_8UC3, cv::Scalar(30, 120, static_cast<double>(seq * 20 % 256)));
  return f;
}

} // namespace

TEST_CASE("snapshot_cache: a decodable JPEG of the newest frame, scaled down to max_width") {
  auto v = std::make_shared<live_view>();
  v->offer_frame(make_frame(1, 0, 1280, 720));
  snapshot_cache c{v, {2, 70, 640}};
  CHECK_FALSE(c.latest(2)); // no frame of camera 2
  // Camera ids come from URLs: asking for absent ones keeps nothing.
  for (uint32_t id = 100; id < 1100; ++id) CHECK_FALSE(c.latest(id));
  CHECK(c.cameras() == 0);
  auto s = c.latest(1);
  REQUIRE(s);
  CHECK(s->width == 1280); // the source size: what boxes refer to
  CHECK(s->height == 720);
  std::vector<uchar> bytes(s->jpeg->begin(), s->jpeg->end());
  auto img = cv::imdecode(bytes, cv::IMREAD_COLOR);
  REQUIRE_FALSE(img.empty());
  CHECK(img.cols == 640);
  CHECK(img.rows == 360);
}

TEST_CASE("snapshot_cache: at most max_fps encodings per camera per second, whoever asks") {
  auto v = std::make_shared<live_view>();
  snapshot_cache c{v, {2, 70, 960}};
  auto t = snapshot_cache::clock::time_point{} + 100s;
  v->offer_frame(make_frame(1, 0));
  REQUIRE(c.latest(1, t));
  CHECK(c.encodings() == 1);
  // New frames keep coming; 100 viewers ask within the same half second.
  for (int i = 0; i < 100; ++i) {
    v->offer_frame(make_frame(1, static_cast<uint64_t>(i + 1)));
    auto s = c.latest(1, t + std::chrono::milliseconds{i * 4});
    REQUIRE(s);
    CHECK(s->seq == 0); // the cached one
  }
  CHECK(c.encodings() == 1);
  auto s = c.latest(1, t + 500ms); // 1 / 2 fps later
  REQUIRE(s);
  CHECK(s->seq == 100);
  CHECK(c.encodings() == 2);
  // Nothing new: no encoding even when due.
  c.latest(1, t + 2s);
  CHECK(c.encodings() == 2);
  // Another camera has its own budget.
  v->offer_frame(make_frame(2, 0));
  REQUIRE(c.latest(2, t + 2s));
  CHECK(c.encodings() == 3);
}

TEST_CASE("snapshot_cache: the last encodings by sequence number carry their own boxes") {
  auto v = std::make_shared<live_view>();
  snapshot_cache c{v, {10, 70, 960}};
  auto t = snapshot_cache::clock::time_point{} + 5s;
  for (uint64_t s = 0; s < 3; ++s) {
    v->offer_frame(make_frame(4, s));
    track_batch b;
    b.camera_id = 4;
    track_event e;
    e.camera_id = 4;
    e.track_id = 10 + s;
    e.frame_seq = s;
    e.state = track_state::updated;
    e.bbox = {1, 2, 3, 4};
    b.events.push_back(e);
    v->offer_tracks(b);
    c.latest(4, t + std::chrono::seconds{s});
  }
  auto one = c.at(4, 1);
  REQUIRE(one);
  CHECK(one->seq == 1);
  REQUIRE(one->boxes.size() >= 1);
  CHECK_FALSE(c.at(4, 99));
  CHECK_FALSE(c.at(5, 1));
}

TEST_CASE("snapshot_cache: settings are checked") {
  auto v = std::make_shared<live_view>();
  CHECK_THROWS_AS(snapshot_cache(nullptr, {}), std::invalid_argument);
  CHECK_THROWS_AS(snapshot_cache(v, {0, 70, 960}), std::invalid_argument);
  CHECK_THROWS_AS(snapshot_cache(v, {2, 0, 960}), std::invalid_argument);
  CHECK_THROWS_AS(snapshot_cache(v, {2, 101, 960}), std::invalid_argument);
}

namespace {

encoded_snapshot remote_picture(uint64_t seq) {
  encoded_snapshot e;
  e.seq = seq;
  e.time_ms = 1'700'000'000'000 + static_cast<timestamp_ms>(seq);
  e.width = 640;
  e.height = 480;
  e.jpeg = std::make_shared<const std::string>("\xFF\xD8\xFF picture " + std::to_string(seq));
  return e;
}

} // namespace

TEST_CASE("remote_snapshots: fetched at most max_fps times per camera, whoever asks; only known cameras") {
  uint64_t next_seq = 1;
  std::vector<uint32_t> asked;
  remote_snapshots r{[&](uint32_t camera) -> std::optional<encoded_snapshot> {
                       asked.push_back(camera);
                       if (camera == 3) return std::nullopt; // known, but no picture yet
                       return remote_picture(next_seq++);
                     },
                     2,
                     {1, 2, 3}};
  const auto t = remote_snapshots::clock::time_point{} + 100s;
  CHECK_FALSE(r.latest(7, t)); // not a configured camera: never asked
  for (uint32_t id = 100; id < 1100; ++id) CHECK_FALSE(r.latest(id, t));
  CHECK(asked.empty());
  auto a = r.latest(1, t);
  REQUIRE(a);
  CHECK(a->camera == 1);
  CHECK(a->seq == 1);
  // Many viewers within 1/max_fps: the same picture, one fetch.
  for (int i = 0; i < 50; ++i) CHECK(r.latest(1, t + 10ms * i)->seq == 1);
  CHECK(r.fetches() == 1);
  // Due again after 500 ms.
  CHECK(r.latest(1, t + 500ms)->seq == 2);
  CHECK(r.fetches() == 2);
  // The last few stay available by number.
  CHECK(r.at(1, 1));
  CHECK(r.at(1, 2));
  CHECK_FALSE(r.at(1, 3));
  CHECK_FALSE(r.at(2, 1));
  // A camera with no picture yet: nothing, asked again only when due.
  CHECK_FALSE(r.latest(3, t));
  CHECK_FALSE(r.latest(3, t + 100ms));
  CHECK(std::count(asked.begin(), asked.end(), 3u) == 1);
  CHECK_THROWS_AS(remote_snapshots({}, 2, {1}), std::invalid_argument);
  CHECK_THROWS_AS(remote_snapshots([](uint32_t) { return std::optional<encoded_snapshot>{}; }, 0, {1}),
                  std::invalid_argument);
}

TEST_CASE("remote_snapshots: a failed fetch keeps the last picture") {
  bool up = true;
  remote_snapshots r{[&](uint32_t) -> std::optional<encoded_snapshot> {
                       if (!up) return std::nullopt;
                       return remote_picture(5);
                     },
                     1,
                     {1}};
  const auto t = remote_snapshots::clock::time_point{} + 100s;
  REQUIRE(r.latest(1, t));
  up = false;
  auto again = r.latest(1, t + 2s);
  REQUIRE(again);
  CHECK(again->seq == 5);
}

TEST_CASE("age_of: a picture older than the bound is stale; the bound 0 never is; a future one is of age 0") {
  encoded_snapshot s;
  s.arrived_ms = 1'000'000;
  auto a = age_of(s, 1'004'000, 10'000);
  CHECK(a.age_ms == 4'000);
  CHECK_FALSE(a.stale);
  CHECK_FALSE(age_of(s, 1'010'000, 10'000).stale); // at the bound: not yet
  a = age_of(s, 1'010'001, 10'000);
  CHECK(a.age_ms == 10'001);
  CHECK(a.stale);
  CHECK_FALSE(age_of(s, 9'000'000, 0).stale);
  a = age_of(s, 999'000, 10'000); // another host's clock ahead of ours
  CHECK(a.age_ms == 0);
  CHECK_FALSE(a.stale);
}

TEST_CASE("snapshot_cache: a picture's age is its camera's silence, not the frame's capture time") {
  auto v = std::make_shared<live_view>();
  snapshot_cache c{v, {2, 70, 960}};
  const auto t = snapshot_cache::clock::time_point{} + 100s;
  const timestamp_ms wall = 1'800'000'000'000; // far from the frames' capture times
  v->offer_frame(make_frame(1, 0), wall);
  auto s = c.latest(1, t);
  REQUIRE(s);
  CHECK(s->arrived_ms == wall);
  v->offer_frame(make_frame(1, 1), wall + 3'000);
  s = c.latest(1, t + 1s);
  CHECK(s->arrived_ms == wall + 3'000);
  // The camera stops: the last picture is still served, its age grows.
  s = c.latest(1, t + 60s);
  REQUIRE(s);
  CHECK(s->seq == 1);
  CHECK(s->arrived_ms == wall + 3'000);
  CHECK(age_of(*s, wall + 3'000 + 11'000, 10'000).stale);
  CHECK_FALSE(age_of(*s, wall + 3'000 + 9'000, 10'000).stale);
}

TEST_CASE("remote_snapshots: a camera of another process keeps the time storage kept its picture") {
  remote_snapshots r{[&](uint32_t) -> std::optional<encoded_snapshot> {
                       auto p = remote_picture(5);
                       p.arrived_ms = 1'234;
                       return p;
                     },
                     1,
                     {1}};
  const auto t = remote_snapshots::clock::time_point{} + 100s;
  REQUIRE(r.latest(1, t));
  CHECK(r.latest(1, t + 5s)->arrived_ms == 1'234); // fetched again: the same picture, the same age
}
