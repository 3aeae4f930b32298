// Two int8 paths' detections on one frame agree (the kernel's C-simulation
// against the int8 CPU card): the kernel keeps 8-bit codes where the CPU keeps
// float32 and requantizes in fixed point where oneDNN uses a float scale, so
// the same people, boxes within IoU 0.95, scores within 0.05, and at most one
// box more or less (a score near the threshold).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "base/types.hpp"

/// Adds to `matched` the wanted boxes found and to `total` the wanted boxes.
inline void check_detections_agree(const std::vector<weaver::detection>& want,
                                   const std::vector<weaver::detection>& got, size_t& matched, size_t& total) {
  CHECK(std::abs(static_cast<int>(got.size()) - static_cast<int>(want.size())) <= 1);
  for (const auto& d : want) {
    float best = 0, score = 0;
    for (const auto& e : got)
      if (weaver::iou(d.bbox, e.bbox) > best) {
        best = weaver::iou(d.bbox, e.bbox);
        score = e.score;
      }
    CHECK(best >= 0.95f);
    CHECK(std::fabs(score - d.score) <= 0.05f);
    matched += best >= 0.95f;
    ++total;
  }
}
