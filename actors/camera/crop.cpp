#include "actors/camera/crop.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace weaver {

namespace {

std::string describe(const crop_rect& c) {
  return std::to_string(c.x) + "," + std::to_string(c.y) + " " + std::to_string(c.w) + "x" + std::to_string(c.h);
}

std::string describe(cv::Size s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

} // namespace

crop_rect to_pixels(const crop_fraction& f, cv::Size source) {
  // Round the edges, not the sizes, so that e.g. [0,1/3) and [1/3,2/3) meet.
  auto edge = [](double frac, int extent) { return static_cast<int>(std::lround(frac * extent)); };
  int x0 = edge(f.x, source.width), x1 = edge(f.x + f.w, source.width);
  int y0 = edge(f.y, source.height), y1 = edge(f.y + f.h, source.height);
  return {x0, y0, x1 - x0, y1 - y0};
}

cv::Rect clamp_crop(const crop_rect& c, cv::Size source, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = "crop " + describe(c) + " " + why;
    return cv::Rect{};
  };
  if (c.w <= 0 || c.h <= 0) return fail("has no area");
  if (source.width <= 0 || source.height <= 0) return fail("cannot apply to an empty " + describe(source) + " frame");
  // 64-bit so that huge configured values cannot overflow x + w.
  int64_t x0 = std::max<int64_t>(c.x, 0), y0 = std::max<int64_t>(c.y, 0);
  int64_t x1 = std::min<int64_t>(int64_t{c.x} + c.w, source.width);
  int64_t y1 = std::min<int64_t>(int64_t{c.y} + c.h, source.height);
  if (x1 <= x0 || y1 <= y0) return fail("lies outside the " + describe(source) + " frame");
  return {static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(x1 - x0), static_cast<int>(y1 - y0)};
}

cv::Mat crop_view(const cv::Mat& src, const cv::Rect& r) {
  if (r.width <= 0 || r.height <= 0 || r.x < 0 || r.y < 0 || r.x + r.width > src.cols || r.y + r.height > src.rows) {
    std::ostringstream os;
    os << "crop " << r.x << "," << r.y << " " << r.width << "x" << r.height << " is not inside the " << src.cols << "x"
       << src.rows << " frame";
    throw std::invalid_argument(os.str());
  }
  return src(r);
}

std::vector<cv::Rect> split_columns(cv::Size size, int n) {
  if (n < 1 || n > size.width || size.height <= 0)
    throw std::invalid_argument("cannot split a " + describe(size) + " frame into " + std::to_string(n) + " columns");
  std::vector<cv::Rect> cols;
  cols.reserve(static_cast<size_t>(n));
  // Column i spans [i*W/n, (i+1)*W/n): consecutive edges, hence exact cover.
  for (int i = 0; i < n; ++i) {
    int x0 = static_cast<int>(int64_t{i} * size.width / n);
    int x1 = static_cast<int>(int64_t{i + 1} * size.width / n);
    cols.emplace_back(x0, 0, x1 - x0, size.height);
  }
  return cols;
}

std::optional<crop_rect> parse_crop(const std::string& text, std::string* error) {
  std::istringstream is(text);
  crop_rect c;
  char c1 = 0, c2 = 0, c3 = 0;
  if (is >> c.x >> c1 >> c.y >> c2 >> c.w >> c3 >> c.h && c1 == ',' && c2 == ',' && c3 == ',' && (is >> std::ws).eof()
      && c.x >= 0 && c.y >= 0 && c.w > 0 && c.h > 0)
    return c;
  if (error) *error = "bad crop '" + text + "': expected x,y,w,h in pixels (w, h > 0)";
  return std::nullopt;
}

cv::Matx33d warp_homography(const warp_quad& quad, cv::Size size) {
  if (size.width <= 0 || size.height <= 0) throw std::invalid_argument("warp: empty output size " + describe(size));
  // Collinear corners make the map singular: no quadrilateral, no view.
  for (int i = 0; i < 4; ++i) {
    auto a = quad[i], b = quad[(i + 1) % 4], c = quad[(i + 2) % 4];
    double cross = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
    if (std::abs(cross) < 1e-6) throw std::invalid_argument("warp: three of the four points are collinear");
  }
  cv::Point2f from[4], to[4];
  const float w = static_cast<float>(size.width), h = static_cast<float>(size.height);
  const cv::Point2f corners[4] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
  for (int i = 0; i < 4; ++i) {
    from[i] = cv::Point2f(static_cast<float>(quad[i].x), static_cast<float>(quad[i].y));
    to[i] = corners[i];
  }
  cv::Mat m = cv::getPerspectiveTransform(from, to);
  return cv::Matx33d(m);
}

cv::Point2d apply_homography(const cv::Matx33d& h, cv::Point2d p) {
  cv::Vec3d q = h * cv::Vec3d(p.x, p.y, 1.0);
  if (q[2] == 0) return {std::nan(""), std::nan("")};
  return {q[0] / q[2], q[1] / q[2]};
}

cv::Mat warp_view(const cv::Mat& src, const cv::Matx33d& h, cv::Size size) {
  cv::Mat out;
  cv::warpPerspective(src, out, cv::Mat(h), size, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  return out;
}

} // namespace weaver
