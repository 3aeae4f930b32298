#include "accel/detect/appearance.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

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
  for (float x : v) n += static_cast<double>(x) * x;
  return std::sqrt(n);
}

} // namespace

TEST_SUITE("appearance") {
  // A person 30 px wide on a coloured background, in a box 60 px wide: half
  // of the box is background, as with loose detector boxes.
  cv::Mat person_on(const cv::Scalar& background, uint64_t seed, int top = 60) {
    cv::Mat img(300, 200, CV_8UC3, background);
    cv::Mat noise(img.size(), CV_8UC3);
    cv::RNG rng(seed);
    rng.fill(noise, cv::RNG::NORMAL, 0, 5);
    img += noise;
    cv::ellipse(img, {100, top + 12}, {9, 11}, 0, 0, 360, cv::Scalar(140, 170, 220), -1);
    cv::rectangle(img, cv::Rect(85, top + 24, 30, 56), red_shirt, -1);
    cv::rectangle(img, cv::Rect(88, top + 80, 24, 70), cv::Scalar(200, 200, 60), -1); // light trousers
    return img;
  }
  const box person_box{70, 60, 60, 150};
  const cv::Scalar green_floor(40, 160, 40), blue_wall(170, 90, 20);

  TEST_CASE("centre weighting and the surround make the background count less") {
    auto a = person_on(green_floor, 1), b = person_on(blue_wall, 2);
    appearance_options none; // the 15% side cut, no surround
    none.centre_sigma = 0;
    none.surround = false;
    const float plain =
      cosine_similarity(appearance_descriptor(a, person_box, none), appearance_descriptor(b, person_box, none));
    appearance_options centre = none;
    centre.centre_sigma = 0.4f;
    appearance_options surround = none;
    surround.surround = true;
    const float c =
      cosine_similarity(appearance_descriptor(a, person_box, centre), appearance_descriptor(b, person_box, centre));
    const float s =
      cosine_similarity(appearance_descriptor(a, person_box, surround), appearance_descriptor(b, person_box, surround));
    CAPTURE(plain);
    CAPTURE(c);
    CAPTURE(s);
    CHECK(c > plain + 0.05f);
    CHECK(s > plain + 0.1f);
    CHECK(s > 0.9f);
    // Someone else in front of the same background still differs.
    auto other = person_on(green_floor, 3);
    cv::rectangle(other, cv::Rect(85, 84, 30, 56), blue_shirt, -1);
    CHECK(cosine_similarity(appearance_descriptor(a, person_box, surround),
                            appearance_descriptor(other, person_box, surround))
          < s - 0.1f);
  }

  TEST_CASE("a foreground mask removes the background") {
    auto a = person_on(green_floor, 1), b = person_on(blue_wall, 2);
    // Exactly the person's pixels, as person_on draws them.
    cv::Mat mask(a.size(), CV_8UC1, cv::Scalar(0));
    cv::ellipse(mask, {100, 72}, {9, 11}, 0, 0, 360, cv::Scalar(255), -1);
    cv::rectangle(mask, cv::Rect(85, 84, 30, 56), cv::Scalar(255), -1);
    cv::rectangle(mask, cv::Rect(88, 140, 24, 70), cv::Scalar(255), -1);
    appearance_options o;
    o.surround = false;
    const float unmasked_sim =
      cosine_similarity(appearance_descriptor(a, person_box, o), appearance_descriptor(b, person_box, o));
    o.mask = &mask;
    const float masked_sim =
      cosine_similarity(appearance_descriptor(a, person_box, o), appearance_descriptor(b, person_box, o));
    CAPTURE(unmasked_sim);
    CHECK(masked_sim > 0.95f); // edges blur when the crop is reduced to the work size
    CHECK(masked_sim > unmasked_sim + 0.1f);
    cv::Mat wrong(10, 10, CV_8UC1, cv::Scalar(0)); // not the image's size: ignored
    o.mask = &wrong;
    appearance_options unmasked = o;
    unmasked.mask = nullptr;
    CHECK(cosine_similarity(appearance_descriptor(a, person_box, o), appearance_descriptor(a, person_box, unmasked))
          == doctest::Approx(1.0f));
  }

  TEST_CASE("a person cut by the image's top keeps the legs in the leg stripes") {
    // The same person, whole and with the image starting at the waist.
    auto whole = person_on(cv::Scalar(120, 120, 120), 1);
    cv::Mat cut = whole(cv::Rect(0, 140, 200, 160)).clone();
    const box cut_box{70, 0, 60, 70}; // what a detector sees: the visible part, at the border
    appearance_options partial; // with centre weighting and surround, as measured in the README
    partial.partial = true;
    partial.centre_sigma = 0.4f;
    partial.surround = true;
    appearance_options plain = partial;
    plain.partial = false;
    auto full = appearance_descriptor(whole, person_box, partial);
    const float with = cosine_similarity(full, appearance_descriptor(cut, cut_box, partial));
    const float without = cosine_similarity(full, appearance_descriptor(cut, cut_box, plain));
    CAPTURE(with);
    CAPTURE(without);
    CHECK(with > without + 0.05f);
    // A box away from the border is laid out as before.
    CHECK(cosine_similarity(appearance_descriptor(whole, person_box, partial),
                            appearance_descriptor(whole, person_box, plain))
          == doctest::Approx(1.0f));
  }

  TEST_CASE("the two-argument descriptor is the default options'") {
    auto img = appearance_scene(red_shirt, 50, 40, 1);
    auto a = appearance_descriptor(img, {50, 40, 40, 100});
    auto b = appearance_descriptor(img, {50, 40, 40, 100}, appearance_options{});
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
  }

  TEST_CASE("quality: score, size, border and cover") {
    const cv::Size image{400, 300};
    appearance_quality_options all; // every factor on
    all.border = 0.2f;
    all.occlusion = 1.0f;
    const box clear{100, 100, 40, 100};
    CHECK(appearance_quality(clear, 1.f, image, {}, all) == doctest::Approx(1.f));
    CHECK(appearance_quality(clear, 0.f, image, {}, all) == doctest::Approx(1.f)); // unknown score
    CHECK(appearance_quality(clear, 0.6f, image, {}, all) == doctest::Approx(0.6f));
    CHECK(appearance_quality({100, 100, 20, 40}, 1.f, image, {}, all) == doctest::Approx(0.5f)); // 40 of 80 px
    CHECK(appearance_quality({0, 100, 40, 100}, 1.f, image, {}, all) == doctest::Approx(0.2f)); // left border
    CHECK(appearance_quality({100, 200, 40, 100}, 1.f, image, {}, all) == doctest::Approx(0.2f)); // bottom border
    CHECK(appearance_quality({0, 100, 40, 100}, 1.f, {}, {}, all) == doctest::Approx(1.f)); // no image size
    // Half the box behind another: half the weight; far boxes change nothing.
    CHECK(appearance_quality(clear, 1.f, image, {{120, 100, 40, 100}, {300, 0, 10, 10}}, all) == doctest::Approx(0.5f));
    // Fully covered: a small weight, never zero.
    const float hidden = appearance_quality(clear, 1.f, image, {{90, 90, 60, 120}}, all);
    CHECK(hidden > 0.f);
    CHECK(hidden < 0.01f);
    // The pipeline's defaults: size and score only.
    CHECK(appearance_quality({0, 100, 40, 100}, 1.f, image, {}) == doctest::Approx(1.f));
    CHECK(appearance_quality(clear, 1.f, image, {{120, 100, 40, 100}}) == doctest::Approx(1.f));
    CHECK(appearance_quality({100, 100, 20, 40}, 0.5f, image, {}) == doctest::Approx(0.25f));
  }

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

  TEST_CASE("cosine similarity sums every element, whatever the length") {
    // It sums in lanes of four: lengths around a multiple of four, and
    // each element's part, must all count (a dropped tail would show).
    for (size_t n = 1; n <= 13; ++n) {
      std::vector<float> a(n), b(n);
      double dot = 0, na = 0, nb = 0;
      for (size_t i = 0; i < n; ++i) {
        a[i] = static_cast<float>(std::sin(1.0 + 0.7 * static_cast<double>(i)));
        b[i] = static_cast<float>(std::cos(0.3 + 1.3 * static_cast<double>(i)));
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
      }
      CAPTURE(n);
      CHECK(cosine_similarity(a, b) == doctest::Approx(dot / std::sqrt(na * nb)).epsilon(1e-6));
      // Only the last element differs: the tail is read (one element alone
      // keeps its direction).
      std::vector<float> c = a;
      c.back() += 1.f;
      if (n > 1) CHECK(cosine_similarity(a, c) < 1.f - 1e-4f);
    }
  }

} // TEST_SUITE
