// Evidence crops: the best frame of a track (largest visible box times its
// score), cut with a margin, scaled to a thumbnail, one JPEG when the track
// ends; boxes of frames no longer kept are not candidates.
#include <doctest/doctest.h>

#include <opencv2/imgcodecs.hpp>

#include "actors/tracker/evidence.hpp"

using namespace weaver;

namespace {

// A 320x240 frame whose pixel values encode its sequence number.
frame_ptr make_frame(uint64_t seq) {
  auto f = std::make_shared<frame>();
  f->camera_id = 2;
  f->seq = seq;
  f->capture_ms = 5000 + static_cast<timestamp_ms>(seq) * 100;
  f->image = cv::Mat(240, 320, CV_8UC3, cv::Scalar(static_cast<double>(seq * 40 % 256), 90, 160));
  return f;
}

track_event ev(uint64_t track, track_state s, uint64_t seq, box b, float score = 0.8f) {
  track_event e;
  e.camera_id = 2;
  e.track_id = track;
  e.state = s;
  e.frame_seq = seq;
  e.bbox = b;
  e.score = score;
  return e;
}

track_batch batch(std::vector<track_event> es) {
  track_batch b;
  b.camera_id = 2;
  b.events = std::move(es);
  return b;
}

} // namespace

TEST_CASE("evidence_picker: quality is the visible area times the score") {
  CHECK(evidence_picker::quality({10, 10, 20, 40}, 0.5f, 320, 240) == doctest::Approx(400));
  CHECK(evidence_picker::quality({10, 10, 20, 40}, 0.0f, 320, 240) == doctest::Approx(800)); // no score: 1
  CHECK(evidence_picker::quality({310, 10, 20, 40}, 1.0f, 320, 240) == doctest::Approx(400)); // half outside
  CHECK(evidence_picker::quality({400, 10, 20, 40}, 1.0f, 320, 240) == 0);
  CHECK(evidence_picker::quality({10, 10, -5, 40}, 1.0f, 320, 240) == 0);
  CHECK(evidence_picker::quality({std::nanf(""), 10, 5, 40}, 1.0f, 320, 240) == 0);
}

TEST_CASE("evidence_picker: the best frame of the track, one JPEG thumbnail when it ends") {
  std::map<uint64_t, frame_ptr> kept;
  for (uint64_t s = 0; s < 5; ++s) kept[s] = make_frame(s);
  auto frame_of = [&](uint32_t camera, uint64_t seq) -> frame_ptr {
    auto it = kept.find(seq);
    return camera == 2 && it != kept.end() ? it->second : nullptr;
  };
  evidence_picker p{64};
  CHECK(p.update(batch({ev(7, track_state::started, 0, {10, 10, 20, 40})}), frame_of).empty());
  CHECK(p.update(batch({ev(7, track_state::updated, 1, {10, 10, 40, 80})}), frame_of).empty()); // best: frame 1
  CHECK(p.update(batch({ev(7, track_state::updated, 2, {10, 10, 30, 60})}), frame_of).empty());
  // Larger still, but its frame is gone: not a candidate.
  CHECK(p.update(batch({ev(7, track_state::updated, 9, {0, 0, 100, 200})}), frame_of).empty());
  CHECK(p.open() == 1);
  auto out = p.update(batch({ev(7, track_state::ended, 3, {10, 10, 30, 60})}), frame_of);
  REQUIRE(out.size() == 1);
  CHECK(out[0].camera_id == 2);
  CHECK(out[0].track_id == 7);
  CHECK(out[0].time_ms == 5100); // frame 1
  CHECK(p.open() == 0);
  auto img = cv::imdecode(std::vector<uchar>(out[0].jpeg.begin(), out[0].jpeg.end()), cv::IMREAD_COLOR);
  REQUIRE_FALSE(img.empty());
  CHECK(img.rows == 64);
  CHECK(img.cols == 32); // 48 x 96 with the margin, scaled to 64 high
  CHECK(std::abs(img.at<cv::Vec3b>(32, 16)[0] - 40) <= 3); // frame 1's pixels
  // A track that never had a frame gives nothing; another camera's end is not this one.
  CHECK(p.update(batch({ev(8, track_state::started, 50, {1, 1, 5, 5})}), frame_of).empty());
  CHECK(p.update(batch({ev(8, track_state::ended, 51, {1, 1, 5, 5})}), frame_of).empty());
  CHECK(p.update(batch({ev(99, track_state::ended, 1, {1, 1, 5, 5})}), frame_of).empty());
}

TEST_CASE("evidence_picker: tracks are independent; a box at the border is cut inside the frame") {
  auto f = make_frame(0);
  auto frame_of = [&](uint32_t, uint64_t) { return f; };
  evidence_picker p{32};
  p.update(batch({ev(1, track_state::started, 0, {300, 200, 40, 60}), ev(2, track_state::started, 0, {0, 0, 20, 20})}),
           frame_of);
  CHECK(p.open() == 2);
  auto out = p.update(batch({ev(1, track_state::ended, 1, {}), ev(2, track_state::ended, 1, {})}), frame_of);
  REQUIRE(out.size() == 2);
  CHECK(out[0].track_id == 1);
  CHECK(out[1].track_id == 2);
  CHECK_THROWS_AS(evidence_picker(4), std::invalid_argument);
}
