#include "actors/tracker/kalman_box.hpp"

#include <algorithm>

#include <opencv2/core.hpp>

namespace weaver {

namespace {

// Deep SORT's noise weights: position std = 1/20 of the height, velocity std
// = 1/160 of the height; the aspect ratio barely changes.
constexpr double weight_pos = 1.0 / 20;
constexpr double weight_vel = 1.0 / 160;
constexpr double min_height = 1.0; // keeps noise positive for degenerate boxes

using mat8 = cv::Matx<double, 8, 8>;
using mat48 = cv::Matx<double, 4, 8>;
using mat4 = cv::Matx<double, 4, 4>;

cv::Vec4d to_measurement(const box& b) {
  double h = std::max<double>(b.h, min_height);
  return {b.x + b.w / 2.0, b.y + b.h / 2.0, std::max<double>(b.w, 0) / h, h};
}

mat8 transition() {
  mat8 f = mat8::eye();
  for (int i = 0; i < 4; ++i) f(i, i + 4) = 1.0;
  return f;
}

mat48 observation() {
  mat48 h;
  for (int i = 0; i < 4; ++i) h(i, i) = 1.0;
  return h;
}

} // namespace

kalman_box::kalman_box(const box& initial) : x_(), p_() {
  auto z = to_measurement(initial);
  for (int i = 0; i < 4; ++i) x_(i) = z(i);
  double h = z(3);
  const double std_dev[8] = {2 * weight_pos * h,  2 * weight_pos * h,  1e-2, 2 * weight_pos * h,
                             10 * weight_vel * h, 10 * weight_vel * h, 1e-5, 10 * weight_vel * h};
  for (int i = 0; i < 8; ++i) p_(i, i) = std_dev[i] * std_dev[i];
}

box kalman_box::predict() {
  // A shrinking box must not collapse through zero height.
  if (x_(3) + x_(7) < min_height) x_(7) = 0;
  double h = std::max(x_(3), min_height);
  const double std_dev[8] = {weight_pos * h, weight_pos * h, 1e-2, weight_pos * h,
                             weight_vel * h, weight_vel * h, 1e-5, weight_vel * h};
  static const mat8 f = transition();
  x_ = f * x_;
  p_ = f * p_ * f.t();
  for (int i = 0; i < 8; ++i) p_(i, i) += std_dev[i] * std_dev[i];
  return current();
}

void kalman_box::update(const box& measured) {
  static const mat48 obs = observation();
  double h = std::max(x_(3), min_height);
  const double std_dev[4] = {weight_pos * h, weight_pos * h, 1e-1, weight_pos * h};
  mat4 s = obs * p_ * obs.t();
  for (int i = 0; i < 4; ++i) s(i, i) += std_dev[i] * std_dev[i];
  // Gain K = P H^T S^-1; S is symmetric positive definite.
  cv::Matx<double, 8, 4> gain = p_ * obs.t() * s.inv(cv::DECOMP_CHOLESKY);
  cv::Vec4d innovation = to_measurement(measured) - obs * x_;
  x_ += gain * innovation;
  p_ = (mat8::eye() - gain * obs) * p_;
}

box kalman_box::current() const {
  double h = std::max(x_(3), 0.0), w = std::max(x_(2), 0.0) * h;
  return {static_cast<float>(x_(0) - w / 2), static_cast<float>(x_(1) - h / 2), static_cast<float>(w),
          static_cast<float>(h)};
}

} // namespace weaver
