// Frames of the sample video (vtest.avi, path in WEAVER_SAMPLE_VIDEO) for
// the detector and card tests.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <opencv2/core.hpp>

#include "actors/camera/video_source.hpp"

/// `count` frames, every `every`-th from the start.
inline std::vector<cv::Mat> sample_frames(int count, int every) {
  const char* sample = std::getenv("WEAVER_SAMPLE_VIDEO");
  REQUIRE_MESSAGE(sample, "set WEAVER_SAMPLE_VIDEO to tools/data/vtest.avi");
  weaver::video_source src(sample);
  std::string err;
  REQUIRE_MESSAGE(src.open(&err), err);
  std::vector<cv::Mat> out;
  cv::Mat f;
  for (int n = 0; static_cast<int>(out.size()) < count && src.read(f); ++n)
    if (n % every == 0) out.push_back(f.clone());
  REQUIRE(static_cast<int>(out.size()) == count);
  return out;
}
