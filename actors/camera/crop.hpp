// Virtual cameras: several cameras cut from one decoded source frame (e.g. a
// wide shot split into left/middle/right). The source is decoded once; each
// virtual camera's frame is a ROI view sharing the source's pixels.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <array>

#include <opencv2/core.hpp>

namespace weaver {

/// A crop in source pixels (top-left corner, width, height).
struct crop_rect {
  int x = 0, y = 0, w = 0, h = 0;
};

/// A crop as fractions of the source size, for configs that must not depend
/// on the stream's resolution (x=0.5, w=0.5 is the right half).
struct crop_fraction {
  double x = 0, y = 0, w = 1, h = 1;
};

/// The pixel rectangle of a fractional crop on a source of `source` size
/// (edges rounded to the nearest pixel, so adjacent fractions tile exactly).
crop_rect to_pixels(const crop_fraction& f, cv::Size source);

/// `c` intersected with the source frame. An empty result (crop entirely
/// outside, or zero/negative size) returns an empty rect and sets `error`
/// (when non-null), e.g. "crop 800,0 100x100 lies outside the 768x576 frame".
cv::Rect clamp_crop(const crop_rect& c, cv::Size source, std::string* error);

/// A view of `r` inside `src` sharing its pixels (no copy; keeps `src`'s
/// buffer alive). Throws std::invalid_argument when `r` is not inside `src`.
cv::Mat crop_view(const cv::Mat& src, const cv::Rect& r);

/// `n` side-by-side full-height columns covering `size` exactly: no gaps, no
/// overlap, widths differ by at most one pixel (n=3: left/middle/right
/// thirds). Throws std::invalid_argument unless 1 <= n <= size.width.
std::vector<cv::Rect> split_columns(cv::Size size, int n);

/// Parses "x,y,w,h" (pixels, non-negative integers). nullopt and `error` set
/// on anything else.
std::optional<crop_rect> parse_crop(const std::string& text, std::string* error);

/// A perspective view: four source points (top-left, top-right,
/// bottom-right, bottom-left of what the camera shows, in source pixels)
/// mapped onto the corners of a `size` image, as a camera looking at the
/// scene from another angle would see it.
using warp_quad = std::array<cv::Point2d, 4>;

/// The homography taking source pixels to the warped image's pixels (quad
/// corners to (0,0), (w,0), (w,h), (0,h)). Throws std::invalid_argument when
/// three of the points are collinear (no view) or the size is empty.
cv::Matx33d warp_homography(const warp_quad& quad, cv::Size size);

/// `p` mapped through `h` (a projective map; the point at infinity maps to
/// NaN).
cv::Point2d apply_homography(const cv::Matx33d& h, cv::Point2d p);

/// The camera's image: `src` warped by `h` to `size` (bilinear; outside the
/// source black). A new buffer, unlike crop_view.
cv::Mat warp_view(const cv::Mat& src, const cv::Matx33d& h, cv::Size size);

} // namespace weaver
