// Deep SORT's motion model: a constant-velocity Kalman filter on one box in
// (centre x, centre y, aspect w/h, height), with its covariance exposed for
// Mahalanobis gating. Pure algorithm, no CAF.
#pragma once

#include <vector>

#include <opencv2/core/matx.hpp>

#include "actors/tracker/filter_state.hpp"
#include "base/types.hpp"

namespace weaver {

/// The measurement space of Deep SORT (Wojke et al. 2017): box centre, aspect
/// ratio a = w / h, height h. Heights below `min_height` are raised to it so
/// a degenerate box cannot divide by zero.
cv::Vec4d to_xyah(const box& b);
box from_xyah(const cv::Vec4d& z);

/// Noise standard deviations of `kalman_xyah` as fractions of the box height.
struct kalman_xyah_noise {
  double position = 1.0 / 20; // reference design: 1/20 of the height
  double velocity = 1.0 / 160; // reference design: 1/160 of the height
};

/// 8-dim state (cx, cy, a, h, vcx, vcy, va, vh), one step = one frame,
/// transition x' = x + v. The process and measurement noise follow the
/// reference design of Deep SORT: standard deviations proportional to the
/// current height (1/20 of it for positions, 1/160 for velocities), fixed
/// small ones for the aspect ratio, which barely changes. Scaling by height
/// makes one set of constants fit near and far people at any resolution.
///
/// Unlike `kalman_box` (SORT's filter, same model) it exposes the mean and
/// covariance and the projected measurement distribution, so a tracker can
/// gate detections by their Mahalanobis distance from the prediction.
class kalman_xyah {
public:
  using vec4 = cv::Vec4d;
  using vec8 = cv::Vec<double, 8>;
  using mat4 = cv::Matx44d;
  using mat8 = cv::Matx<double, 8, 8>;

  static constexpr double min_height = 1.0;
  using noise = kalman_xyah_noise;

  /// The predicted measurement distribution N(mean, cov) of a state, with the
  /// lower Cholesky factor of cov for distances to many measurements.
  struct projection {
    vec4 mean;
    mat4 cov;
    mat4 chol; // lower triangular, chol * chol^T = cov
    /// Squared Mahalanobis distance of measurement z (chi-square with 4
    /// degrees of freedom when z is drawn from the distribution).
    double distance2(const vec4& z) const;
    /// Same on the centre (cx, cy) only: 2 degrees of freedom.
    double position_distance2(const vec4& z) const;
  };

  /// Starts at `initial` with zero velocity: position std 2/20 of the
  /// height, velocity std 10/160 of it (wide: nothing is known yet).
  explicit kalman_xyah(const box& initial, noise n = {});

  /// Advances one frame (mean and covariance).
  void predict();

  /// Corrects the state with a measurement (cx, cy, a, h) or a box.
  void update(const vec4& z);
  void update(const box& b) { update(to_xyah(b)); }

  /// Measurement distribution of the current state (measurement noise added).
  projection project() const;

  /// Squared Mahalanobis distance of one measurement (see projection).
  double gating_distance(const vec4& z) const { return project().distance2(z); }

  const vec8& mean() const { return x_; }
  const mat8& covariance() const { return p_; }

  /// The box of the current state estimate.
  box current() const;

  /// Mean then covariance (row-major), for snapshots; set_state takes the
  /// same 72 numbers (throws std::invalid_argument on another count).
  std::vector<double> state() const { return pack_filter_state(x_, p_); }
  void set_state(const std::vector<double>& v) { unpack_filter_state(v, x_, p_); }

private:
  vec8 x_;
  mat8 p_;
  noise n_;
};

/// Chi-square 0.95 quantiles for 1..4 degrees of freedom: the gates for a
/// squared Mahalanobis distance (4 = the full measurement, 2 = centre only).
constexpr double chi2inv95[5] = {0, 3.8415, 5.9915, 7.8147, 9.4877};

} // namespace weaver
