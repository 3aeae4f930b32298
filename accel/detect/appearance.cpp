#include "accel/detect/appearance.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace weaver {

namespace {

constexpr float side_margin = 0.15f; // without centre weighting: width skipped per side
constexpr int min_sat = 64; // below this, hue is meaningless
constexpr int work_w = 32, work_h = 64; // larger crops are reduced to this
constexpr float edge_px = 2; // a box this close to the image's border is cut by it
// Height over width of a whole standing person (PETS09-S2L1's ground-truth
// boxes: median 2.5): how far a box cut by the image's edge extends beyond it.
constexpr float body_aspect = 2.5f;
// The surround ring: this share of the box's width each side, of its height
// above and below.
constexpr float ring_x = 0.3f, ring_y = 0.1f;
// Floor of the surround weight: a person dressed like the pavement keeps a
// (weak) descriptor rather than none.
constexpr float surround_floor = 0.05f;

// Colour cell of an HSV pixel for the surround comparison: achromatic or
// one of the hues, times saturation and value quarters.
constexpr size_t colour_cells = (appearance_hue_bins + 1) * 4 * 4;
size_t colour_cell(const cv::Vec3b& p) {
  const size_t hue = p[1] < min_sat ? 0 : 1 + static_cast<size_t>(p[0]) * appearance_hue_bins / 180;
  return (hue * 4 + p[1] / 64) * 4 + p[2] / 64;
}

// The work-sized copy of `r` in `img` (area-averaged down when larger than
// the work size; as is otherwise).
cv::Mat reduced(const cv::Mat& img, const cv::Rect& r, double fx, double fy, int interp) {
  cv::Mat roi = img(r);
  if (fx >= 1 && fy >= 1) return roi;
  cv::Mat small;
  cv::resize(roi, small,
             cv::Size(std::max(1, static_cast<int>(std::lround(r.width * fx))),
                      std::max(1, static_cast<int>(std::lround(r.height * fy)))),
             0, 0, interp);
  return small;
}

bool touches(float lo, float hi, int limit) { return lo <= edge_px || hi >= static_cast<float>(limit) - edge_px; }

} // namespace

std::vector<float> appearance_descriptor(const cv::Mat& bgr, const box& b) {
  return appearance_descriptor(bgr, b, appearance_options{});
}

std::vector<float> appearance_descriptor(const cv::Mat& bgr, const box& b, const appearance_options& o) {
  std::vector<float> out(appearance_dims, 0.f);
  if (bgr.empty() || bgr.type() != CV_8UC3 || !(b.w > 0) || !(b.h > 0)) return out;
  const bool centre = o.centre_sigma > 0;
  const float margin = centre ? 0.f : side_margin;
  float left = b.x + margin * b.w, right = b.x + (1 - margin) * b.w;
  int x0 = std::max(0, static_cast<int>(std::lround(left)));
  int x1 = std::min(bgr.cols, static_cast<int>(std::lround(right)));
  int y0 = std::max(0, static_cast<int>(std::lround(b.y)));
  int y1 = std::min(bgr.rows, static_cast<int>(std::lround(b.y + b.h)));
  if (x1 <= x0 || y1 <= y0) return out;
  const cv::Rect box_rect(x0, y0, x1 - x0, y1 - y0);
  // Fixed work per detection: large crops are area-averaged down first.
  double fx = 1, fy = 1;
  if (box_rect.area() > work_w * work_h) {
    fx = std::min(1.0, double(work_w) / box_rect.width);
    fy = std::min(1.0, double(work_h) / box_rect.height);
  }
  cv::Mat crop = reduced(bgr, box_rect, fx, fy, cv::INTER_AREA), hsv;
  cv::cvtColor(crop, hsv, cv::COLOR_BGR2HSV); // H in [0, 180), S, V in [0, 256)

  // Per-pixel weights.
  cv::Mat weight(hsv.size(), CV_32F, cv::Scalar(1));
  if (centre) {
    const double cx = b.x + b.w / 2.0, half = b.w / 2.0;
    for (int c = 0; c < hsv.cols; ++c) {
      const double x = x0 + (c + 0.5) * box_rect.width / hsv.cols;
      const double d = (x - cx) / half / o.centre_sigma;
      const float w = static_cast<float>(std::exp(-0.5 * d * d));
      for (int r = 0; r < hsv.rows; ++r) weight.at<float>(r, c) = w;
    }
  }
  if (o.surround) {
    const int rx = static_cast<int>(std::lround(ring_x * b.w)), ry = static_cast<int>(std::lround(ring_y * b.h));
    const cv::Rect ring = cv::Rect(x0 - rx, y0 - ry, box_rect.width + 2 * rx, box_rect.height + 2 * ry)
      & cv::Rect(0, 0, bgr.cols, bgr.rows);
    cv::Mat ring_hsv;
    cv::cvtColor(reduced(bgr, ring, fx, fy, cv::INTER_AREA), ring_hsv, cv::COLOR_BGR2HSV);
    // The ring's pixels are those of the enlarged rectangle outside the box.
    const double kx = double(ring_hsv.cols) / ring.width, ky = double(ring_hsv.rows) / ring.height;
    const cv::Rect inner(
      static_cast<int>(std::floor((x0 - ring.x) * kx)), static_cast<int>(std::floor((y0 - ring.y) * ky)),
      static_cast<int>(std::ceil(box_rect.width * kx)), static_cast<int>(std::ceil(box_rect.height * ky)));
    std::array<float, colour_cells> in{}, around{};
    float n_in = 0, n_around = 0;
    for (int r = 0; r < ring_hsv.rows; ++r)
      for (int c = 0; c < ring_hsv.cols; ++c)
        if (!inner.contains({c, r})) around[colour_cell(ring_hsv.at<cv::Vec3b>(r, c))] += 1, ++n_around;
    for (int r = 0; r < hsv.rows; ++r)
      for (int c = 0; c < hsv.cols; ++c) in[colour_cell(hsv.at<cv::Vec3b>(r, c))] += 1, ++n_in;
    if (n_around > 0)
      for (int r = 0; r < hsv.rows; ++r)
        for (int c = 0; c < hsv.cols; ++c) {
          const size_t k = colour_cell(hsv.at<cv::Vec3b>(r, c));
          // The share of this colour inside that the surround cannot explain.
          const float fg = std::clamp(1.f - (around[k] / n_around) / (in[k] / n_in), 0.f, 1.f);
          weight.at<float>(r, c) *= surround_floor + (1 - surround_floor) * fg;
        }
  }
  if (o.mask && !o.mask->empty() && o.mask->size() == bgr.size() && o.mask->type() == CV_8UC1) {
    cv::Mat m;
    reduced(*o.mask, box_rect, fx, fy, cv::INTER_AREA).convertTo(m, CV_32F, 1.0 / 255);
    if (m.size() != weight.size()) cv::resize(m, m, weight.size(), 0, 0, cv::INTER_NEAREST);
    weight = weight.mul(m);
  }

  // Rows to stripes, over the whole body when the image's edge cuts it.
  double rows_above = 0, rows_total = hsv.rows;
  if (o.partial) {
    const bool top = b.y <= edge_px, bottom = b.y + b.h >= static_cast<float>(bgr.rows) - edge_px;
    const double body = body_aspect * b.w;
    if (top != bottom && body > b.h) {
      const double extra = (body - b.h) * hsv.rows / b.h;
      rows_total += extra;
      if (top) rows_above = extra;
    }
  }
  auto stripe_of = [&](int r) {
    return std::min(appearance_stripes - 1, static_cast<size_t>((r + rows_above) * appearance_stripes / rows_total));
  };

  std::vector<float> stripe_weight(appearance_stripes, 0.f);
  for (int r = 0; r < hsv.rows; ++r) {
    const size_t stripe = stripe_of(r);
    float* hist = out.data() + stripe * appearance_stripe_dims;
    const auto* px = hsv.ptr<cv::Vec3b>(r);
    const float* w = weight.ptr<float>(r);
    for (int c = 0; c < hsv.cols; ++c) {
      int h = px[c][0], s = px[c][1], v = px[c][2];
      size_t hue = s < min_sat ? 0 : static_cast<size_t>(h) * appearance_hue_bins / 180;
      size_t sat = static_cast<size_t>(s) * appearance_sat_bins / 256;
      hist[hue * appearance_sat_bins + sat] += w[c];
      hist[appearance_hue_bins * appearance_sat_bins + static_cast<size_t>(v) * appearance_val_bins / 256] += w[c];
      stripe_weight[stripe] += w[c];
    }
  }
  // Texture: orientation histogram of the V channel's gradients per stripe.
  cv::Mat v, gx, gy;
  cv::extractChannel(hsv, v, 2);
  cv::Sobel(v, gx, CV_32F, 1, 0, 3);
  cv::Sobel(v, gy, CV_32F, 0, 1, 3);
  std::vector<float> grad_total(appearance_stripes, 0.f);
  const size_t grad_at = appearance_hue_bins * appearance_sat_bins + appearance_val_bins;
  for (int r = 0; r < v.rows; ++r) {
    const size_t stripe = stripe_of(r);
    float* hist = out.data() + stripe * appearance_stripe_dims + grad_at;
    const float* dx = gx.ptr<float>(r);
    const float* dy = gy.ptr<float>(r);
    const float* w = weight.ptr<float>(r);
    for (int c = 0; c < v.cols; ++c) {
      float mag = std::sqrt(dx[c] * dx[c] + dy[c] * dy[c]);
      if (mag < 1.f) continue;
      mag *= w[c];
      float ang = std::atan2(dy[c], dx[c]); // (-pi, pi]
      if (ang < 0) ang += static_cast<float>(M_PI); // unsigned: [0, pi)
      size_t bin =
        std::min(appearance_grad_bins - 1, static_cast<size_t>(ang / static_cast<float>(M_PI) * appearance_grad_bins));
      hist[bin] += mag;
      grad_total[stripe] += mag;
    }
  }
  for (size_t s = 0; s < appearance_stripes; ++s) {
    if (!(stripe_weight[s] > 0)) continue;
    float* hist = out.data() + s * appearance_stripe_dims;
    for (size_t k = 0; k < grad_at; ++k) {
      float w = k < appearance_hue_bins * appearance_sat_bins ? 1.f : o.value_weight;
      hist[k] = w * std::sqrt(hist[k] / stripe_weight[s]);
    }
    for (size_t k = grad_at; k < appearance_stripe_dims; ++k)
      hist[k] = grad_total[s] > 0 ? o.texture_weight * std::sqrt(hist[k] / grad_total[s]) : 0.f;
  }
  l2_normalise(out);
  return out;
}

float appearance_quality(const box& b, float score, cv::Size image, const std::vector<box>& others,
                         const appearance_quality_options& o) {
  float q = score > 0 ? std::min(score, 1.f) : 1.f;
  if (o.full_height > 0) q *= std::clamp(b.h / o.full_height, 0.05f, 1.f);
  if (image.width > 0 && image.height > 0
      && (touches(b.x, b.x + b.w, image.width) || touches(b.y, b.y + b.h, image.height)))
    q *= o.border;
  const float area = b.w * b.h;
  if (area > 0) {
    float covered = 0;
    for (const auto& x : others) {
      const float iw = std::min(b.x + b.w, x.x + x.w) - std::max(b.x, x.x);
      const float ih = std::min(b.y + b.h, x.y + x.h) - std::max(b.y, x.y);
      if (iw > 0 && ih > 0) covered = std::max(covered, iw * ih / area);
    }
    q *= std::pow(std::max(0.f, 1.f - covered), o.occlusion);
  }
  return std::max(q, 1e-3f);
}

void l2_normalise(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (auto& x : v) x *= inv;
}

appearance_options plain_appearance_options() {
  appearance_options o;
  o.centre_sigma = 0;
  o.surround = false;
  return o;
}

float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size()) return 0.f;
  // Re-id compares every track with every person in the gallery, several
  // times: four independent sums per quantity let the additions overlap
  // instead of waiting on one another (bench_reid, 10k people: see README).
  constexpr size_t lanes = 4;
  double dot[lanes] = {}, sa[lanes] = {}, sb[lanes] = {};
  const size_t n = a.size(), whole = n - n % lanes;
  for (size_t i = 0; i < whole; i += lanes)
    for (size_t j = 0; j < lanes; ++j) {
      const double x = a[i + j], y = b[i + j];
      dot[j] += x * y;
      sa[j] += x * x;
      sb[j] += y * y;
    }
  for (size_t i = whole; i < n; ++i) {
    const double x = a[i], y = b[i];
    dot[0] += x * y;
    sa[0] += x * x;
    sb[0] += y * y;
  }
  const double d = (dot[0] + dot[1]) + (dot[2] + dot[3]);
  const double na = (sa[0] + sa[1]) + (sa[2] + sa[3]);
  const double nb = (sb[0] + sb[1]) + (sb[2] + sb[3]);
  if (na <= 0 || nb <= 0) return 0.f;
  return static_cast<float>(std::clamp(d / std::sqrt(na * nb), -1.0, 1.0));
}

} // namespace weaver
