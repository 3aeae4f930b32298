// Camera layouts for measuring cross-camera identity beyond one hand-made
// layout: a seeded generator of virtual-camera sets cut from one video
// (strips, grids, blind gaps, overlapping views, perspective-warped views).
// Pure algorithm, no CAF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "actors/camera/crop.hpp"
#include "tools/eval/crosscam_truth.hpp"

namespace weaver {

struct layout_camera {
  uint32_t id = 0;
  cv::Rect crop; // in source pixels, inside the frame
  std::optional<warp_quad> warp; // inside the crop; the image has the crop's size
};

struct crosscam_layout {
  std::string name; // e.g. "s1-l3-gaps", unique per (seed, index)
  std::string kind; // vstrips, hstrips, grid, gaps, overlap, warped
  std::vector<layout_camera> cameras; // ids 1..n
};

/// The kinds, in the order layouts cycle through them (layout i has kind i % 6).
const std::vector<std::string>& layout_kinds();

/// Layout `index` of `seed` for a `frame`-sized source: the same (seed,
/// index, frame) always gives the same layout, whatever else is generated.
/// Every view lies inside the frame and is at least 96 px on each side.
crosscam_layout generate_layout(uint64_t seed, int index, cv::Size frame);

/// Layouts 0 .. n-1 of `seed`.
std::vector<crosscam_layout> generate_layouts(uint64_t seed, int n, cv::Size frame);

/// The camera as the truth sees it (source -> camera pixels).
virtual_camera to_virtual(const layout_camera& c, timestamp_ms start_ms, double fps);

} // namespace weaver
