// The console's live view: the frame shown is the one the boxes belong to,
// ended tracks disappear, a restarted source starts over, the ring is bounded.
#include <doctest/doctest.h>

#include "actors/live_view.hpp"

using namespace weaver;

namespace {

frame_ptr make_frame(uint32_t camera, uint64_t seq) {
  auto f = std::make_shared<frame>();
  f->camera_id = camera;
  f->seq = seq;
  f->capture_ms = 1000 + static_cast<timestamp_ms>(seq) * 40;
  f->image = cv::Mat(48, 64, CV_8UC3, cv::Scalar(static_cast<double>(seq % 256), 0, 0));
  return f;
}

track_batch tracks(uint32_t camera, uint64_t seq, std::vector<std::pair<uint64_t, track_state>> ts) {
  track_batch b;
  b.camera_id = camera;
  b.seq = seq;
  for (auto& [id, state] : ts) {
    track_event e;
    e.camera_id = camera;
    e.track_id = id;
    e.state = state;
    e.frame_seq = seq;
    e.bbox = {static_cast<float>(id), 2, 10, 20};
    e.score = 0.9f;
    b.events.push_back(e);
  }
  return b;
}

} // namespace

TEST_CASE("live_view: nothing before the first frame; then the newest frame without boxes") {
  live_view v{4};
  CHECK_FALSE(v.latest(1));
  v.offer_frame(make_frame(1, 0));
  v.offer_frame(make_frame(1, 1));
  v.offer_frame(nullptr);
  auto s = v.latest(1);
  REQUIRE(s);
  CHECK(s->image->seq == 1);
  CHECK(s->boxes.empty());
  CHECK_FALSE(v.latest(2));
  CHECK(v.cameras() == std::vector<uint32_t>{1});
}

TEST_CASE("live_view: the frame shown is the one of the tracker's latest boxes, not the newest") {
  live_view v{8};
  for (uint64_t s = 0; s < 6; ++s) v.offer_frame(make_frame(3, s));
  v.offer_tracks(tracks(3, 2, {{7, track_state::started}, {8, track_state::started}}));
  auto s = v.latest(3);
  REQUIRE(s);
  CHECK(s->image->seq == 2); // the detector still holds frames 3..5
  REQUIRE(s->boxes.size() == 2);
  CHECK(s->boxes[0].track_id == 7);
  CHECK(s->boxes[0].bbox.x == 7);
  // Frame 3: track 8 ended, 7 moved on.
  v.offer_tracks(tracks(3, 3, {{7, track_state::updated}, {8, track_state::ended}}));
  s = v.latest(3);
  REQUIRE(s);
  CHECK(s->image->seq == 3);
  REQUIRE(s->boxes.size() == 1);
  CHECK(s->boxes[0].track_id == 7);
  CHECK(v.frame_at(3, 4) != nullptr);
  CHECK(v.frame_at(3, 40) == nullptr);
}

TEST_CASE("live_view: the ring keeps the last frames only; boxes of a frame gone show the newest frame bare") {
  live_view v{3};
  for (uint64_t s = 0; s < 10; ++s) v.offer_frame(make_frame(1, s));
  CHECK(v.frame_at(1, 6) == nullptr);
  CHECK(v.frame_at(1, 7) != nullptr);
  v.offer_tracks(tracks(1, 2, {{1, track_state::started}}));
  auto s = v.latest(1);
  REQUIRE(s);
  CHECK(s->image->seq == 9);
  CHECK(s->boxes.empty());
}

TEST_CASE("live_view: a restarted source (sequence from 0 again) drops the old frames and tracks") {
  live_view v{8};
  for (uint64_t s = 0; s < 5; ++s) v.offer_frame(make_frame(1, s));
  v.offer_tracks(tracks(1, 4, {{5, track_state::started}}));
  REQUIRE(v.latest(1)->boxes.size() == 1);
  v.offer_frame(make_frame(1, 0));
  auto s = v.latest(1);
  REQUIRE(s);
  CHECK(s->image->seq == 0);
  CHECK(s->boxes.empty());
  CHECK(v.frame_at(1, 4) == nullptr);
}

TEST_CASE("live_view: the snapshot says when the camera's newest frame arrived (wall clock), with or without boxes") {
  live_view v{4};
  v.offer_frame(make_frame(1, 0), 5'000);
  CHECK(v.latest(1)->arrived_ms == 5'000);
  v.offer_frame(make_frame(1, 1), 7'000);
  CHECK(v.latest(1)->arrived_ms == 7'000);
  track_batch b;
  b.camera_id = 1;
  b.events.push_back({});
  b.events.back().track_id = 3;
  b.events.back().frame_seq = 0;
  b.events.back().state = track_state::started;
  v.offer_tracks(b);
  auto s = v.latest(1);
  REQUIRE(s);
  CHECK(s->image->seq == 0); // the tracked frame, older than the newest
  CHECK(s->arrived_ms == 7'000); // the camera's silence is from its newest frame
}

TEST_CASE("live_view: boxes carry the person re-id offered for their track; a new table replaces the last") {
  live_view v{8};
  for (uint64_t s = 0; s < 4; ++s) v.offer_frame(make_frame(2, s));
  v.offer_tracks(tracks(2, 1, {{4, track_state::started}, {5, track_state::started}}));
  auto s = v.latest(2);
  REQUIRE(s);
  REQUIRE(s->boxes.size() == 2);
  CHECK_FALSE(s->boxes[0].person); // nothing offered yet
  CHECK_FALSE(s->boxes[1].person);
  v.offer_people(2, {{4, 12}});
  s = v.latest(2);
  REQUIRE(s->boxes.size() == 2);
  CHECK(s->boxes[0].person == uint64_t{12});
  CHECK_FALSE(s->boxes[1].person);
  // The tracker moves on: the person stays with the track, not the frame.
  v.offer_tracks(tracks(2, 2, {{4, track_state::updated}, {5, track_state::updated}}));
  s = v.latest(2);
  REQUIRE(s->boxes.size() == 2);
  CHECK(s->boxes[0].person == uint64_t{12});
  // Re-id's next table: track 4 lost its guess (taken by a better match), 5 has one.
  v.offer_people(2, {{5, 3}});
  s = v.latest(2);
  CHECK_FALSE(s->boxes[0].person);
  CHECK(s->boxes[1].person == uint64_t{3});
  // Another camera's table changes nothing here; an unknown camera is not made.
  v.offer_people(9, {{5, 1}});
  CHECK(v.latest(2)->boxes[1].person == uint64_t{3});
  CHECK(v.cameras() == std::vector<uint32_t>{2});
  CHECK_FALSE(v.latest(9));
  // A restarted source forgets the table with its tracks.
  v.offer_frame(make_frame(2, 0));
  v.offer_tracks(tracks(2, 0, {{5, track_state::started}}));
  s = v.latest(2);
  REQUIRE(s->boxes.size() == 1);
  CHECK_FALSE(s->boxes[0].person);
}
