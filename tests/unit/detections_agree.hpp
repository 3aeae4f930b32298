// Two int8 paths' detections on one frame agree (the kernel's C-simulation
// against the int8 CPU card): both compute the same codes layer by layer
// (accel/engine/int8_plan.hpp, int8_layers.hpp) and run the same float host
// nodes and decoder on them, so the same boxes, bit for bit, and the same
// scores, in the same order.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "base/types.hpp"

/// Adds to `matched` the wanted boxes found identical and to `total` the
/// wanted boxes.
inline void check_detections_agree(const std::vector<weaver::detection>& want,
                                   const std::vector<weaver::detection>& got, size_t& matched, size_t& total) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    const auto &w = want[i].bbox, &g = got[i].bbox;
    const bool same = w.x == g.x && w.y == g.y && w.w == g.w && w.h == g.h && want[i].score == got[i].score
      && want[i].class_id == got[i].class_id;
    CHECK(same);
    matched += same;
    ++total;
  }
}

/// The int8 session's fast mode (oneDNN requantizes in float inside each
/// conv) against its exact mode (`want`): codes may differ by one, so at most
/// one box more or less (a score near the threshold) and every other wanted
/// box found at IoU >= 0.9. Adds to `matched` the wanted boxes found and to
/// `total` the wanted boxes.
inline void check_detections_close(const std::vector<weaver::detection>& want,
                                   const std::vector<weaver::detection>& got, size_t& matched, size_t& total) {
  CHECK(std::abs(static_cast<int>(got.size()) - static_cast<int>(want.size())) <= 1);
  size_t missed = 0;
  for (const auto& d : want) {
    float best = 0;
    for (const auto& e : got) best = std::max(best, weaver::iou(d.bbox, e.bbox));
    missed += best < 0.9f;
    matched += best >= 0.9f;
    ++total;
  }
  CHECK(missed <= 1);
}
