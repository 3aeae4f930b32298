#include <doctest/doctest.h>

#include <set>

#include "tools/eval/crosscam_layouts.hpp"

using namespace weaver;

namespace {

const cv::Size vtest{768, 576};

bool same(const crosscam_layout& a, const crosscam_layout& b) {
  if (a.name != b.name || a.kind != b.kind || a.cameras.size() != b.cameras.size()) return false;
  for (size_t i = 0; i < a.cameras.size(); ++i) {
    const auto &x = a.cameras[i], &y = b.cameras[i];
    if (x.id != y.id || x.crop != y.crop || x.warp.has_value() != y.warp.has_value()) return false;
    if (x.warp && *x.warp != *y.warp) return false;
  }
  return true;
}

} // namespace

TEST_SUITE("crosscam_layouts") {
  TEST_CASE("deterministic by seed; a layout does not depend on how many are generated") {
    auto a = generate_layouts(1, 12, vtest), b = generate_layouts(1, 12, vtest);
    for (size_t i = 0; i < a.size(); ++i) CHECK(same(a[i], b[i]));
    auto two = generate_layouts(1, 2, vtest);
    CHECK(same(two[1], a[1]));
    // Another seed gives other layouts (some kind's parameters differ).
    auto c = generate_layouts(2, 12, vtest);
    int differ = 0;
    for (size_t i = 0; i < a.size(); ++i) differ += !same(a[i], c[i]) ? 1 : 0;
    CHECK(differ >= 6);
    CHECK(a[0].name == "s1-l0-vstrips");
  }

  TEST_CASE("every kind in six layouts; views inside the frame, large enough, ids 1..n") {
    for (uint64_t seed : {1u, 2u, 3u, 77u}) {
      auto ls = generate_layouts(seed, 6, vtest);
      std::set<std::string> kinds;
      for (const auto& l : ls) {
        kinds.insert(l.kind);
        REQUIRE(l.cameras.size() >= 2);
        for (size_t i = 0; i < l.cameras.size(); ++i) {
          const auto& c = l.cameras[i];
          CHECK(c.id == i + 1);
          CHECK((c.crop & cv::Rect({0, 0}, vtest)) == c.crop);
          CHECK(c.crop.width >= 96);
          CHECK(c.crop.height >= 96);
          CHECK(c.warp.has_value() == (l.kind == "warped"));
          if (c.warp)
            for (auto p : *c.warp) {
              const bool in = p.x >= c.crop.x && p.x <= c.crop.br().x && p.y >= c.crop.y && p.y <= c.crop.br().y;
              CHECK(in);
            }
        }
      }
      CHECK(kinds.size() == 6);
    }
  }

  TEST_CASE("kinds keep their geometry: gaps leave blind strips, overlaps share one") {
    for (uint64_t seed : {1u, 5u, 9u}) {
      auto ls = generate_layouts(seed, 6, vtest);
      const auto& gaps = ls[3].cameras;
      for (size_t i = 0; i + 1 < gaps.size(); ++i) CHECK(gaps[i + 1].crop.x >= gaps[i].crop.br().x + 30);
      const auto& over = ls[4].cameras;
      for (size_t i = 0; i + 1 < over.size(); ++i) CHECK(over[i + 1].crop.x <= over[i].crop.br().x - 40);
      const auto& strips = ls[0].cameras;
      for (size_t i = 0; i + 1 < strips.size(); ++i) CHECK(strips[i + 1].crop.x == strips[i].crop.br().x);
      CHECK(strips.back().crop.br().x == vtest.width);
    }
  }

  TEST_CASE("a warped camera's homography takes foot points into its image and back") {
    auto l = generate_layout(4, 5, vtest);
    REQUIRE(l.kind == "warped");
    for (const auto& c : l.cameras) {
      auto v = to_virtual(c, 0, 10);
      // The quad's corners land on the image corners.
      const cv::Point2d corners[4] = {
        {0, 0}, {double(c.crop.width), 0}, {double(c.crop.width), double(c.crop.height)}, {0, double(c.crop.height)}};
      for (int k = 0; k < 4; ++k) {
        auto q = apply_homography(v.to_view, (*c.warp)[k]);
        CHECK(q.x == doctest::Approx(corners[k].x).epsilon(1e-6));
        CHECK(q.y == doctest::Approx(corners[k].y).epsilon(1e-6));
      }
      // A point inside the quad is in view and maps back; the crop's corner
      // outside the quad (the far edge is narrower) is not.
      const cv::Point2d centre{c.crop.x + c.crop.width / 2.0, c.crop.height * 0.6};
      cv::Point2d at;
      CHECK(in_view(v, centre, &at));
      auto back = apply_homography(v.to_view.inv(), at);
      CHECK(back.x == doctest::Approx(centre.x));
      CHECK(back.y == doctest::Approx(centre.y));
      CHECK_FALSE(in_view(v, {c.crop.x + 1.0, 1.0}));
    }
  }
}
