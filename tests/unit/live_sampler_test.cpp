// Live frames for a gateway elsewhere: off by default, at most fps pictures
// per camera per second (the time is passed in: no wall clock), each a
// decodable JPEG scaled to max_width with the boxes of its frame.
#include <doctest/doctest.h>

#include <stdexcept>

#include <opencv2/imgcodecs.hpp>

#include "actors/tracker/live_sampler.hpp"
#include "schemas/codec.hpp"

using namespace weaver;
using namespace std::chrono_literals;

namespace {

live_snapshot snap(uint32_t camera, uint64_t seq, int w = 1280, int h = 720) {
  auto f = std::make_shared<frame>();
  f->camera_id = camera;
  f->seq = seq;
  f->capture_ms = 1'700'000'000'000 + static_cast<timestamp_ms>(seq) * 40;
  f->image = cv::Mat(h, w, CV_8UC3, cv::Scalar(40, 90, static_cast<double>(seq * 13 % 256)));
  return live_snapshot{f, {{3, {100, 50, 40, 120}, 0.8f, std::nullopt}}};
}

} // namespace

TEST_CASE("live_sampler: off unless fps is set") {
  live_sampler off;
  CHECK_FALSE(off.enabled());
  CHECK_FALSE(off.sample(1, snap(1, 0), live_sampler::clock::time_point{} + 10s));
  CHECK(off.sampled() == 0);
}

TEST_CASE("live_sampler: a whole JPEG of the frame, scaled to max_width, with its boxes in source pixels") {
  live_sampler s{{1, 640, 70}};
  auto f = s.sample(4, snap(4, 12), live_sampler::clock::time_point{} + 10s);
  REQUIRE(f);
  CHECK(f->camera_id == 4);
  CHECK(f->seq == 12);
  CHECK(f->time_ms == 1'700'000'000'000 + 12 * 40);
  CHECK(f->width == 1280); // what the boxes refer to
  CHECK(f->height == 720);
  REQUIRE(f->boxes.size() == 1);
  CHECK(f->boxes[0].track_id == 3);
  CHECK(f->boxes[0].bbox == box{100, 50, 40, 120});
  auto img = cv::imdecode(std::vector<uchar>(f->jpeg.begin(), f->jpeg.end()), cv::IMREAD_COLOR);
  REQUIRE_FALSE(img.empty());
  CHECK(img.cols == 640);
  CHECK(img.rows == 360);
  CHECK_FALSE(codec::validate(*f)); // what a receiver checks, it passes
  // A narrow frame is not scaled up.
  auto narrow = s.sample(5, snap(5, 0, 320, 240), live_sampler::clock::time_point{} + 10s);
  REQUIRE(narrow);
  CHECK(cv::imdecode(std::vector<uchar>(narrow->jpeg.begin(), narrow->jpeg.end()), cv::IMREAD_COLOR).cols == 320);
}

TEST_CASE("live_sampler: at most fps pictures per camera per second, cameras apart") {
  live_sampler s{{2, 320, 60}}; // every 500 ms
  const auto t0 = live_sampler::clock::time_point{} + 100s;
  int sent = 0;
  // 40 ms frames for 10 s: 20 pictures, one each 500 ms.
  for (int i = 0; i < 250; ++i) sent += s.sample(1, snap(1, i, 320, 240), t0 + i * 40ms).has_value();
  CHECK(sent == 20);
  // Another camera has its own budget.
  CHECK(s.sample(2, snap(2, 0, 320, 240), t0 + 9960ms));
  CHECK_FALSE(s.sample(2, snap(2, 1, 320, 240), t0 + 10s));
  CHECK(s.sampled() == 21);
  // Nothing to send without a picture, and that costs no turn.
  CHECK_FALSE(s.sample(3, std::nullopt, t0));
  CHECK(s.sample(3, snap(3, 0, 320, 240), t0 + 1ms));
}

TEST_CASE("live_sampler: settings are checked") {
  CHECK_THROWS_AS(live_sampler({-1, 640, 70}), std::invalid_argument);
  CHECK_THROWS_AS(live_sampler({1, 8, 70}), std::invalid_argument);
  CHECK_THROWS_AS(live_sampler({1, 640, 0}), std::invalid_argument);
  CHECK_THROWS_AS(live_sampler({1, 640, 101}), std::invalid_argument);
}
