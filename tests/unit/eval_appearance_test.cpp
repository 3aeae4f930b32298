#include "tools/eval/eval_appearance.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace weaver;

namespace {

appearance_item item(int layout, uint32_t camera, int person, int frame, std::vector<float> f) {
  l2_normalise(f);
  return {layout, camera, person, frame, std::move(f)};
}

} // namespace

TEST_SUITE("eval appearance") {
  TEST_CASE("roc_auc: separated, reversed, tied and empty") {
    CHECK(roc_auc({0.9f, 0.8f}, {0.1f, 0.2f, 0.3f}) == doctest::Approx(1.0));
    CHECK(roc_auc({0.1f, 0.2f}, {0.8f, 0.9f}) == doctest::Approx(0.0));
    CHECK(roc_auc({0.5f}, {0.5f}) == doctest::Approx(0.5)); // a tie counts half
    // 0.6 beats 0.4 and 0.5, loses to 0.7: 2/3; 0.3 beats none: 0.
    CHECK(roc_auc({0.6f, 0.3f}, {0.4f, 0.5f, 0.7f}) == doctest::Approx(2.0 / 6.0));
    CHECK(roc_auc({}, {0.1f}) == doctest::Approx(0.5));
  }

  TEST_CASE("across views: only pairs of different cameras of one layout count") {
    // Person 1 and 2 on cameras 1 and 2 of layout 0; a copy of person 1 on
    // camera 1 of layout 1 must pair with nothing (no other camera there).
    std::vector<appearance_item> items{item(0, 1, 1, 0, {1, 0.1f, 0}), item(0, 2, 1, 5, {1, 0, 0.1f}),
                                       item(0, 1, 2, 0, {0, 1, 0}), item(0, 2, 2, 5, {0.2f, 1, 0}),
                                       item(1, 1, 1, 0, {1, 0, 0})};
    auto s = compare_across(items);
    CHECK(s.same == 2);
    CHECK(s.different == 2);
    CHECK(s.auc == doctest::Approx(1.0));
    CHECK(s.queries == 4);
    CHECK(s.rank1 == doctest::Approx(1.0));
    CHECK(s.tpr[0] == doctest::Approx(1.0)); // both same pairs >= 0.8
    CHECK(s.fpr[0] == doctest::Approx(0.0));
  }

  TEST_CASE("across views: a look-alike on the other camera loses rank-1") {
    // Person 1's second view resembles person 2 more than person 1's first view.
    std::vector<appearance_item> items{item(0, 1, 1, 0, {1, 0, 0}), item(0, 1, 2, 0, {0, 1, 0}),
                                       item(0, 2, 1, 9, {0.2f, 1, 0}), item(0, 2, 2, 9, {0, 1, 0.05f})};
    auto s = compare_across(items);
    CHECK(s.queries == 4);
    CHECK(s.rank1 < 1.0);
    CHECK(s.auc < 1.0);
  }

  TEST_CASE("handovers: a visit against the visits starting on another camera soon after it ends") {
    auto visit = [](uint32_t camera, int person, int first, int last, std::vector<float> leave,
                    std::vector<float> enter) {
      l2_normalise(leave);
      l2_normalise(enter);
      return handover_visit{0, camera, person, first, last, {leave}, {enter}};
    };
    // Person 1 leaves camera 1 at frame 50 and enters camera 2 at 60;
    // person 2 enters camera 2 at 55 looking like person 1's leaving side
    // by the leaving summary, unlike it by the entering one.
    std::vector<handover_visit> vs{
      visit(1, 1, 0, 50, {1, 0, 0}, {1, 0, 0}), visit(2, 1, 60, 120, {0, 0, 1}, {1, 0.1f, 0}),
      visit(2, 2, 55, 90, {1, 0, 0}, {0, 1, 0}),
      // too late (frame 151 > 50 + 100) and on the same camera: no candidates
      visit(2, 3, 200, 250, {1, 0, 0}, {1, 0, 0}), visit(1, 4, 52, 80, {1, 0, 0}, {1, 0, 0})};
    auto s = compare_handovers(vs, 0);
    // Only visit 0 has candidates: person 1 at 60 and person 2 at 55. Visit
    // 4 (camera 1, ends at 80) would need one starting at 65..180.
    CHECK(s.same == 1);
    CHECK(s.different == 1);
    CHECK(s.queries == 1);
    CHECK(s.rank1 == doctest::Approx(1.0));
    CHECK(s.auc == doctest::Approx(1.0));
    // Entering sides swapped: the look-alike wins.
    std::swap(vs[1].entering, vs[2].entering);
    auto t = compare_handovers(vs, 0);
    CHECK(t.rank1 == doctest::Approx(0.0));
    CHECK(t.auc == doctest::Approx(0.0));
  }

  TEST_CASE("within a view: same person only at the minimum gap") {
    std::vector<appearance_item> items{item(0, 1, 1, 0, {1, 0}), item(0, 1, 1, 3, {1, 0}), item(0, 1, 1, 30, {1, 0.1f}),
                                       item(0, 1, 2, 0, {0, 1}),
                                       item(0, 2, 2, 0, {1, 0})}; // another camera: not paired
    auto s = compare_within(items, 20);
    // Same: (0,30), (3,30); different: person 2 with each of person 1's three.
    CHECK(s.same == 2);
    CHECK(s.different == 3);
    CHECK(s.auc == doctest::Approx(1.0));
    // Queries with their person in reach: frames 0 and 3 (frame 30), 30 (0 and 3).
    CHECK(s.queries == 3);
    CHECK(s.rank1 == doctest::Approx(1.0));
  }

  TEST_CASE("variants parse; unknown parts are refused") {
    auto v = parse_appearance_variant("c0.4+s+p+t0");
    CHECK(v.options.centre_sigma == doctest::Approx(0.4f));
    CHECK(v.options.surround);
    CHECK(v.options.partial);
    CHECK(v.options.texture_weight == doctest::Approx(0.0f));
    CHECK_FALSE(v.background_mask);
    auto base = parse_appearance_variant("base");
    CHECK(base.options.centre_sigma == 0.0f);
    CHECK_FALSE(base.options.surround);
    CHECK(parse_appearance_variant("m").background_mask);
    auto pipeline = parse_appearance_variant("pipeline");
    CHECK(pipeline.options.surround == appearance_options{}.surround);
    CHECK(parse_appearance_variant("base+s").options.surround);
    CHECK(parse_appearance_variant("nanodet").nanodet);
    CHECK_THROWS_AS(parse_appearance_variant("x"), std::invalid_argument);
    CHECK_THROWS_AS(parse_appearance_variant("cabc"), std::invalid_argument);
    CHECK_THROWS_AS(parse_appearance_variant("c0.4+"), std::invalid_argument);
  }

} // TEST_SUITE
