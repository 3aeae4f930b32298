#include "actors/tracker/kalman_xyah.hpp"

#include <algorithm>
#include <cmath>

namespace weaver {

namespace {

using vec4 = kalman_xyah::vec4;
using mat4 = kalman_xyah::mat4;

// Lower Cholesky factor of a symmetric positive definite 4x4 matrix. A pivot
// that rounding drove to zero or below is floored, so the factor stays
// invertible (the measurement noise keeps real inputs far from that).
mat4 cholesky(const mat4& a) {
  mat4 l = mat4::zeros();
  for (int j = 0; j < 4; ++j) {
    double d = a(j, j);
    for (int k = 0; k < j; ++k) d -= l(j, k) * l(j, k);
    l(j, j) = std::sqrt(std::max(d, 1e-12));
    for (int i = j + 1; i < 4; ++i) {
      double s = a(i, j);
      for (int k = 0; k < j; ++k) s -= l(i, k) * l(j, k);
      l(i, j) = s / l(j, j);
    }
  }
  return l;
}

// Solves L y = b (forward substitution) for the first n components.
template <int N>
double forward_norm2(const mat4& l, const vec4& b) {
  double y[4] = {};
  double sum = 0;
  for (int i = 0; i < N; ++i) {
    double s = b(i);
    for (int k = 0; k < i; ++k) s -= l(i, k) * y[k];
    y[i] = s / l(i, i);
    sum += y[i] * y[i];
  }
  return sum;
}

} // namespace

cv::Vec4d to_xyah(const box& b) {
  double h = std::max<double>(b.h, kalman_xyah::min_height);
  return {b.x + b.w / 2.0, b.y + b.h / 2.0, std::max<double>(b.w, 0) / h, h};
}

box from_xyah(const cv::Vec4d& z) {
  double h = std::max(z(3), 0.0), w = std::max(z(2), 0.0) * h;
  return {static_cast<float>(z(0) - w / 2), static_cast<float>(z(1) - h / 2), static_cast<float>(w),
          static_cast<float>(h)};
}

double kalman_xyah::projection::distance2(const vec4& z) const { return forward_norm2<4>(chol, z - mean); }

double kalman_xyah::projection::position_distance2(const vec4& z) const {
  // The leading 2x2 block of a Cholesky factor is the factor of the leading
  // 2x2 block of the matrix.
  return forward_norm2<2>(chol, z - mean);
}

kalman_xyah::kalman_xyah(const box& initial, noise n) : x_(), p_(), n_(n) {
  vec4 z = to_xyah(initial);
  for (int i = 0; i < 4; ++i) x_(i) = z(i);
  const double h = z(3);
  const double std_dev[8] = {2 * n_.position * h,  2 * n_.position * h,  1e-2, 2 * n_.position * h,
                             10 * n_.velocity * h, 10 * n_.velocity * h, 1e-5, 10 * n_.velocity * h};
  for (int i = 0; i < 8; ++i) p_(i, i) = std_dev[i] * std_dev[i];
}

void kalman_xyah::predict() {
  // A shrinking box must not collapse through zero height.
  if (x_(3) + x_(7) < min_height) x_(7) = 0;
  const double h = std::max(x_(3), min_height);
  const double std_dev[8] = {n_.position * h, n_.position * h, 1e-2, n_.position * h,
                             n_.velocity * h, n_.velocity * h, 1e-5, n_.velocity * h};
  // x' = F x and P' = F P F^T + Q with F = [I I; 0 I], written out by blocks
  // (P = [A B; B^T C]: A' = A + B + B^T + C, B' = B + C, C' = C).
  for (int i = 0; i < 4; ++i) x_(i) += x_(i + 4);
  mat8 p = p_;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double a = p(i, j), b = p(i, j + 4), bt = p(i + 4, j), c = p(i + 4, j + 4);
      p_(i, j) = a + b + bt + c;
      p_(i, j + 4) = b + c;
      p_(i + 4, j) = bt + c;
    }
  for (int i = 0; i < 8; ++i) p_(i, i) += std_dev[i] * std_dev[i];
}

kalman_xyah::projection kalman_xyah::project() const {
  projection pr;
  const double h = std::max(x_(3), min_height);
  const double std_dev[4] = {n_.position * h, n_.position * h, 1e-1, n_.position * h};
  for (int i = 0; i < 4; ++i) {
    pr.mean(i) = x_(i);
    for (int j = 0; j < 4; ++j) pr.cov(i, j) = p_(i, j);
    pr.cov(i, i) += std_dev[i] * std_dev[i];
  }
  pr.chol = cholesky(pr.cov);
  return pr;
}

void kalman_xyah::update(const vec4& z) {
  const projection pr = project();
  // Gain K = P H^T S^-1 (8x4); P H^T is the first four columns of P. Solve
  // S K^T = H P column by column with the Cholesky factor.
  cv::Matx<double, 8, 4> gain;
  for (int r = 0; r < 8; ++r) {
    double y[4];
    for (int i = 0; i < 4; ++i) { // L y = (P H^T)_r
      double s = p_(r, i);
      for (int k = 0; k < i; ++k) s -= pr.chol(i, k) * y[k];
      y[i] = s / pr.chol(i, i);
    }
    for (int i = 3; i >= 0; --i) { // L^T k = y
      double s = y[i];
      for (int k = i + 1; k < 4; ++k) s -= pr.chol(k, i) * gain(r, k);
      gain(r, i) = s / pr.chol(i, i);
    }
  }
  const vec4 innovation = z - pr.mean;
  x_ += gain * innovation;
  // P' = P - K H P (= P - K S K^T), kept exactly symmetric.
  mat8 khp;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += gain(i, k) * p_(k, j);
      khp(i, j) = s;
    }
  mat8 p = p_ - khp;
  for (int i = 0; i < 8; ++i)
    for (int j = i + 1; j < 8; ++j) p(i, j) = p(j, i) = 0.5 * (p(i, j) + p(j, i));
  p_ = p;
}

box kalman_xyah::current() const { return from_xyah({x_(0), x_(1), x_(2), x_(3)}); }

} // namespace weaver
