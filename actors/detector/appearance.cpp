#include "actors/detector/appearance.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace weaver {

namespace {

constexpr float side_margin = 0.15f;  // fraction of the width skipped per side
constexpr int min_sat = 64;           // below this, hue is meaningless
constexpr int work_w = 32, work_h = 64; // larger crops are reduced to this
// Brightness depends on the camera's exposure more than on the clothes, so the
// value histogram counts for less than the hue x saturation one.
constexpr float value_weight = 0.5f;
// Texture's share beside colour. `weaver eval crosscam` (then tools/eval_crosscam) on vtest.avi (re-id at
// 0.9): weight 0 and 0.25 give a mean error of 2.50 people per X->Y answer,
// 0.5 gives 2.75 and 1.0 gives 6.0 (gradient histograms look alike across
// people, so a heavy texture part merges them).
constexpr float texture_weight = 0.25f;

} // namespace

std::vector<float> appearance_descriptor(const cv::Mat& bgr, const box& b) {
  std::vector<float> out(appearance_dims, 0.f);
  if (bgr.empty() || bgr.type() != CV_8UC3 || !(b.w > 0) || !(b.h > 0))
    return out;
  float left = b.x + side_margin * b.w, right = b.x + (1 - side_margin) * b.w;
  int x0 = std::max(0, static_cast<int>(std::lround(left)));
  int x1 = std::min(bgr.cols, static_cast<int>(std::lround(right)));
  int y0 = std::max(0, static_cast<int>(std::lround(b.y)));
  int y1 = std::min(bgr.rows, static_cast<int>(std::lround(b.y + b.h)));
  if (x1 <= x0 || y1 <= y0)
    return out;
  cv::Mat crop = bgr(cv::Rect(x0, y0, x1 - x0, y1 - y0)), hsv;
  // Fixed work per detection: area-average large crops down first.
  if (crop.cols * crop.rows > work_w * work_h) {
    cv::Mat small;
    cv::resize(crop, small, cv::Size(std::min(crop.cols, work_w), std::min(crop.rows, work_h)),
               0, 0, cv::INTER_AREA);
    crop = small;
  }
  cv::cvtColor(crop, hsv, cv::COLOR_BGR2HSV); // H in [0, 180), S, V in [0, 256)
  std::vector<int> stripe_pixels(appearance_stripes, 0);
  for (int r = 0; r < hsv.rows; ++r) {
    size_t stripe = static_cast<size_t>(r) * appearance_stripes / hsv.rows;
    float* hist = out.data() + stripe * appearance_stripe_dims;
    const auto* px = hsv.ptr<cv::Vec3b>(r);
    for (int c = 0; c < hsv.cols; ++c) {
      int h = px[c][0], s = px[c][1], v = px[c][2];
      size_t hue = s < min_sat ? 0 : static_cast<size_t>(h) * appearance_hue_bins / 180;
      size_t sat = static_cast<size_t>(s) * appearance_sat_bins / 256;
      hist[hue * appearance_sat_bins + sat] += 1.f;
      hist[appearance_hue_bins * appearance_sat_bins
           + static_cast<size_t>(v) * appearance_val_bins / 256] += 1.f;
    }
    stripe_pixels[stripe] += hsv.cols;
  }
  // Texture: orientation histogram of the V channel's gradients per stripe.
  cv::Mat v, gx, gy;
  cv::extractChannel(hsv, v, 2);
  cv::Sobel(v, gx, CV_32F, 1, 0, 3);
  cv::Sobel(v, gy, CV_32F, 0, 1, 3);
  std::vector<float> grad_total(appearance_stripes, 0.f);
  const size_t grad_at = appearance_hue_bins * appearance_sat_bins + appearance_val_bins;
  for (int r = 0; r < v.rows; ++r) {
    size_t stripe = static_cast<size_t>(r) * appearance_stripes / v.rows;
    float* hist = out.data() + stripe * appearance_stripe_dims + grad_at;
    const float* dx = gx.ptr<float>(r);
    const float* dy = gy.ptr<float>(r);
    for (int c = 0; c < v.cols; ++c) {
      float mag = std::sqrt(dx[c] * dx[c] + dy[c] * dy[c]);
      if (mag < 1.f) continue;
      float ang = std::atan2(dy[c], dx[c]);             // (-pi, pi]
      if (ang < 0) ang += static_cast<float>(M_PI);      // unsigned: [0, pi)
      size_t bin = std::min(appearance_grad_bins - 1,
                            static_cast<size_t>(ang / static_cast<float>(M_PI) * appearance_grad_bins));
      hist[bin] += mag;
      grad_total[stripe] += mag;
    }
  }
  for (size_t s = 0; s < appearance_stripes; ++s) {
    if (stripe_pixels[s] == 0)
      continue;
    float* hist = out.data() + s * appearance_stripe_dims;
    for (size_t k = 0; k < grad_at; ++k) {
      float w = k < appearance_hue_bins * appearance_sat_bins ? 1.f : value_weight;
      hist[k] = w * std::sqrt(hist[k] / static_cast<float>(stripe_pixels[s]));
    }
    for (size_t k = grad_at; k < appearance_stripe_dims; ++k)
      hist[k] = grad_total[s] > 0 ? texture_weight * std::sqrt(hist[k] / grad_total[s]) : 0.f;
  }
  l2_normalise(out);
  return out;
}

void l2_normalise(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (auto& x : v) x *= inv;
}

float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size())
    return 0.f;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na <= 0 || nb <= 0)
    return 0.f;
  return static_cast<float>(std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0));
}

} // namespace weaver
