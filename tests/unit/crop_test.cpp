#include <doctest/doctest.h>

#include <stdexcept>

#include "actors/camera/crop.hpp"

using namespace weaver;

namespace {

// A frame where every pixel differs from its neighbours.
cv::Mat pattern(cv::Size size) {
  cv::Mat m(size, CV_8UC3);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x), uchar(y), uchar(x * 7 + y * 13));
  return m;
}

bool inside(const cv::Mat& view, const cv::Mat& src) {
  return view.data >= src.datastart && view.data < src.dataend && view.datastart == src.datastart;
}

} // namespace

TEST_SUITE("crop") {
  TEST_CASE("crop_view is an exact view sharing the source pixels") {
    cv::Mat src = pattern({768, 576});
    cv::Rect r(100, 50, 256, 300);
    cv::Mat v = crop_view(src, r);
    CHECK(v.size() == r.size());
    CHECK(inside(v, src));
    CHECK(v.data == src.ptr(50) + 100 * 3);
    CHECK(cv::norm(v, src(r), cv::NORM_INF) == 0);
    // Writing through the view changes the source: no copy was made.
    v.at<cv::Vec3b>(0, 0) = cv::Vec3b(1, 2, 3);
    CHECK(src.at<cv::Vec3b>(50, 100) == cv::Vec3b(1, 2, 3));
    CHECK_THROWS_AS(crop_view(src, cv::Rect(700, 0, 100, 10)), std::invalid_argument);
    CHECK_THROWS_AS(crop_view(src, cv::Rect(0, 0, 0, 10)), std::invalid_argument);
  }

  TEST_CASE("a view keeps the frame alive after the source handle is gone") {
    cv::Mat view;
    {
      cv::Mat src = pattern({64, 32});
      view = crop_view(src, {10, 5, 20, 10});
    }
    CHECK(view.at<cv::Vec3b>(0, 0) == cv::Vec3b(10, 5, uchar(10 * 7 + 5 * 13)));
  }

  TEST_CASE("split_columns covers the frame exactly") {
    for (int width : {768, 767, 769, 7, 3, 1000}) {
      cv::Size size(width, 576);
      auto cols = split_columns(size, 3);
      REQUIRE(cols.size() == 3);
      int x = 0, total = 0;
      for (const auto& c : cols) {
        CHECK(c.x == x); // no gap, no overlap
        CHECK(c.y == 0);
        CHECK(c.height == 576);
        CHECK(c.width >= width / 3);
        CHECK(c.width <= width / 3 + 1);
        x += c.width;
        total += c.area();
      }
      CHECK(x == width);
      CHECK(total == width * 576);
    }
    auto thirds = split_columns({768, 576}, 3);
    CHECK(thirds[0] == cv::Rect(0, 0, 256, 576));
    CHECK(thirds[1] == cv::Rect(256, 0, 256, 576));
    CHECK(thirds[2] == cv::Rect(512, 0, 256, 576));
    CHECK(split_columns({5, 5}, 1)[0] == cv::Rect(0, 0, 5, 5));
    CHECK_THROWS_AS(split_columns({768, 576}, 0), std::invalid_argument);
    CHECK_THROWS_AS(split_columns({2, 576}, 3), std::invalid_argument);
  }

  TEST_CASE("views of the columns reassemble the frame") {
    cv::Mat src = pattern({101, 40});
    cv::Mat joined;
    std::vector<cv::Mat> parts;
    for (const auto& c : split_columns(src.size(), 3)) {
      parts.push_back(crop_view(src, c));
      CHECK(inside(parts.back(), src));
    }
    cv::hconcat(parts, joined);
    CHECK(cv::norm(joined, src, cv::NORM_INF) == 0);
  }

  TEST_CASE("clamp_crop clips to the frame and rejects empty crops") {
    cv::Size s(768, 576);
    std::string error;
    CHECK(clamp_crop({10, 20, 100, 200}, s, &error) == cv::Rect(10, 20, 100, 200));
    CHECK(clamp_crop({700, 500, 100, 100}, s, &error) == cv::Rect(700, 500, 68, 76));
    CHECK(clamp_crop({-10, -10, 50, 50}, s, &error) == cv::Rect(0, 0, 40, 40));
    CHECK(clamp_crop({0, 0, 2000000000, 2000000000}, s, &error) == cv::Rect(0, 0, 768, 576));
    CHECK(error.empty());

    CHECK(clamp_crop({800, 0, 100, 100}, s, &error).empty());
    CHECK(error == "crop 800,0 100x100 lies outside the 768x576 frame");
    error.clear();
    CHECK(clamp_crop({-200, 0, 100, 100}, s, &error).empty());
    CHECK(error.find("lies outside") != std::string::npos);
    CHECK(clamp_crop({0, 0, 0, 100}, s, &error).empty());
    CHECK(error == "crop 0,0 0x100 has no area");
    CHECK(clamp_crop({0, 0, 10, 10}, {0, 0}, &error).empty());
    CHECK(clamp_crop({0, 0, 10, 10}, s, nullptr) == cv::Rect(0, 0, 10, 10));
    CHECK(clamp_crop({900, 0, 10, 10}, s, nullptr).empty()); // null error is fine
  }

  TEST_CASE("fractional crops tile exactly") {
    cv::Size s(767, 575);
    auto a = to_pixels({0, 0, 1.0 / 3, 1}, s);
    auto b = to_pixels({1.0 / 3, 0, 1.0 / 3, 1}, s);
    auto c = to_pixels({2.0 / 3, 0, 1.0 / 3, 1}, s);
    CHECK(a.x == 0);
    CHECK(a.x + a.w == b.x);
    CHECK(b.x + b.w == c.x);
    CHECK(c.x + c.w == 767);
    CHECK(a.h == 575);
    auto half = to_pixels({0.5, 0.5, 0.5, 0.5}, {768, 576});
    CHECK(half.x == 384);
    CHECK(half.y == 288);
    CHECK(half.w == 384);
    CHECK(half.h == 288);
  }

  TEST_CASE("parse_crop") {
    std::string error;
    auto c = parse_crop("256, 0, 256, 576", &error);
    REQUIRE(c);
    CHECK(c->x == 256);
    CHECK(c->w == 256);
    CHECK(c->h == 576);
    CHECK_FALSE(parse_crop("1,2,3", &error));
    CHECK(error.find("bad crop '1,2,3'") == 0);
    CHECK_FALSE(parse_crop("1,2,3,4,5", &error));
    CHECK_FALSE(parse_crop("-1,2,3,4", &error));
    CHECK_FALSE(parse_crop("1,2,0,4", &error));
    CHECK_FALSE(parse_crop("a,b,c,d", nullptr));
  }

  TEST_CASE("warp_view shows the quadrilateral rectified to the crop's size") {
    cv::Mat src = pattern({200, 100});
    // The quad is a plain rectangle: the warp is a translation.
    warp_quad rect{cv::Point2d{20, 10}, cv::Point2d{120, 10}, cv::Point2d{120, 60}, cv::Point2d{20, 60}};
    auto h = warp_homography(rect, {100, 50});
    cv::Mat out = warp_view(src, h, {100, 50});
    REQUIRE(out.size() == cv::Size(100, 50));
    CHECK(out.at<cv::Vec3b>(0, 0) == src.at<cv::Vec3b>(10, 20));
    CHECK(out.at<cv::Vec3b>(30, 70) == src.at<cv::Vec3b>(40, 90));
    // A trapezoid: the quad's corners go to the image's, other points round-trip.
    warp_quad trap{cv::Point2d{60, 0}, cv::Point2d{140, 0}, cv::Point2d{200, 100}, cv::Point2d{0, 100}};
    auto t = warp_homography(trap, {100, 50});
    auto c = apply_homography(t, {200, 100});
    CHECK(c.x == doctest::Approx(100));
    CHECK(c.y == doctest::Approx(50));
    auto p = apply_homography(t.inv(), apply_homography(t, {100, 70}));
    CHECK(p.x == doctest::Approx(100));
    CHECK(p.y == doctest::Approx(70));
    CHECK(warp_view(src, t, {100, 50}).size() == cv::Size(100, 50));
  }

  TEST_CASE("warp_homography refuses collinear points and empty sizes") {
    warp_quad line{cv::Point2d{0, 0}, cv::Point2d{10, 0}, cv::Point2d{20, 0}, cv::Point2d{0, 10}};
    CHECK_THROWS_AS(warp_homography(line, {10, 10}), std::invalid_argument);
    warp_quad ok{cv::Point2d{0, 0}, cv::Point2d{10, 0}, cv::Point2d{10, 10}, cv::Point2d{0, 10}};
    CHECK_THROWS_AS(warp_homography(ok, {0, 10}), std::invalid_argument);
    CHECK_NOTHROW(warp_homography(ok, {10, 10}));
  }

} // TEST_SUITE
