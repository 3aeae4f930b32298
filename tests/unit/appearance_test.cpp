#include "actors/detector/appearance.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include <opencv2/imgproc.hpp>

using namespace weaver;

namespace {

// A grey scene with a cartoon person: skin head, coloured shirt, dark jeans.
cv::Mat appearance_scene(const cv::Scalar& shirt, int px, int py, uint64_t seed) {
  cv::Mat img(240, 320, CV_8UC3, cv::Scalar(120, 120, 120));
  cv::Mat noise(img.size(), CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0, 6);
  img += noise;
  cv::ellipse(img, {px + 20, py + 12}, {9, 11}, 0, 0, 360, cv::Scalar(140, 170, 220), -1);
  cv::rectangle(img, cv::Rect(px + 4, py + 24, 32, 40), shirt, -1);
  cv::rectangle(img, cv::Rect(px + 8, py + 64, 24, 36), cv::Scalar(90, 50, 40), -1);
  return img;
}

const cv::Scalar red_shirt(30, 30, 200), blue_shirt(200, 70, 30);

double appearance_norm(const std::vector<float>& v) {
  double n = 0;
  for (float x : v)
    n += static_cast<double>(x) * x;
  return std::sqrt(n);
}

} // namespace

TEST_SUITE("appearance") {

TEST_CASE("fixed length and unit norm") {
  auto img = appearance_scene(red_shirt, 50, 40, 1);
  auto d = appearance_descriptor(img, {50, 40, 40, 100});
  CHECK(d.size() == appearance_dims);
  CHECK(appearance_norm(d) == doctest::Approx(1.0));
  // A large box takes the reduced path and keeps the same length.
  auto big = appearance_descriptor(img, {0, 0, 320, 240});
  CHECK(big.size() == appearance_dims);
  CHECK(appearance_norm(big) == doctest::Approx(1.0));
}

TEST_CASE("identical crops are identical") {
  auto img = appearance_scene(red_shirt, 50, 40, 1);
  box b{50, 40, 40, 100};
  auto a = appearance_descriptor(img, b);
  cv::Mat copy = img.clone();
  CHECK(cosine_similarity(a, appearance_descriptor(copy, b)) == doctest::Approx(1.0f));
}

TEST_CASE("same clothes match, different shirts differ") {
  auto red1 = appearance_scene(red_shirt, 50, 40, 1);
  auto red2 = appearance_scene(red_shirt, 200, 100, 2); // elsewhere, other noise
  auto blue = appearance_scene(blue_shirt, 50, 40, 3);
  auto a = appearance_descriptor(red1, {50, 40, 40, 100});
  auto b = appearance_descriptor(red2, {200, 100, 40, 100});
  auto c = appearance_descriptor(blue, {50, 40, 40, 100});
  float same = cosine_similarity(a, b), other = cosine_similarity(a, c);
  CAPTURE(same);
  CAPTURE(other);
  CHECK(same > 0.95f);
  CHECK(other < 0.75f); // below reid_config::match_threshold
  CHECK(same - other > 0.25f);
}

TEST_CASE("boxes partly or fully outside the image") {
  auto img = appearance_scene(red_shirt, 0, 150, 1);
  auto clipped = appearance_descriptor(img, {-20, 150, 60, 150}); // left + bottom out
  CHECK(clipped.size() == appearance_dims);
  CHECK(appearance_norm(clipped) == doctest::Approx(1.0));
  auto outside = appearance_descriptor(img, {400, 300, 40, 100});
  CHECK(outside.size() == appearance_dims);
  CHECK(appearance_norm(outside) == 0.0);
}

TEST_CASE("empty inputs give a zero vector") {
  auto img = appearance_scene(red_shirt, 50, 40, 1);
  for (const box& b : {box{50, 40, 0, 100}, box{50, 40, 40, -3}, box{}}) {
    auto d = appearance_descriptor(img, b);
    CHECK(d.size() == appearance_dims);
    CHECK(appearance_norm(d) == 0.0);
  }
  CHECK(appearance_norm(appearance_descriptor(cv::Mat(), {0, 0, 10, 10})) == 0.0);
  cv::Mat gray(100, 100, CV_8UC1, cv::Scalar(50));
  CHECK(appearance_descriptor(gray, {0, 0, 10, 10}).size() == appearance_dims);
}

TEST_CASE("cosine similarity edge cases") {
  CHECK(cosine_similarity({}, {}) == 0.f);
  CHECK(cosine_similarity({1, 0}, {1, 0, 0}) == 0.f);
  CHECK(cosine_similarity({0, 0}, {1, 0}) == 0.f);
  CHECK(cosine_similarity({1, 0}, {0, 1}) == doctest::Approx(0.f));
  CHECK(cosine_similarity({2, 0}, {1, 0}) == doctest::Approx(1.f));
  CHECK(cosine_similarity({1, 0}, {-1, 0}) == doctest::Approx(-1.f));
}

} // TEST_SUITE
