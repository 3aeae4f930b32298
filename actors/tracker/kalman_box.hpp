// Constant-velocity Kalman filter on one bounding box, the motion model of the
// tracker. Pure algorithm, no CAF.
#pragma once

#include <vector>

#include <opencv2/core/matx.hpp>

#include "actors/tracker/filter_state.hpp"
#include "base/types.hpp"

namespace weaver {

/// State (cx, cy, a, h, vcx, vcy, va, vh): box centre, aspect a = w / h,
/// height, and their per-frame velocities; the measurement is (cx, cy, a, h).
/// This is Deep SORT's parameterisation rather than SORT's (cx, cy, area, a):
/// the noise is scaled by the box height, so one set of constants works for
/// near and far people and for any frame resolution. One step = one frame.
class kalman_box {
public:
  /// Starts at `initial` with zero velocity and a wide velocity uncertainty.
  explicit kalman_box(const box& initial);

  /// Advances one frame; returns the predicted box.
  box predict();

  /// Corrects the state with a measured box.
  void update(const box& measured);

  /// The box of the current state estimate.
  box current() const;

  /// Velocity of the centre in pixels per frame.
  cv::Vec2d velocity() const { return {x_(4), x_(5)}; }

  /// Mean then covariance (row-major), for snapshots; set_state takes the
  /// same 72 numbers (throws std::invalid_argument on another count).
  std::vector<double> state() const { return pack_filter_state(x_, p_); }
  void set_state(const std::vector<double>& v) { unpack_filter_state(v, x_, p_); }

private:
  cv::Vec<double, 8> x_; // state mean
  cv::Matx<double, 8, 8> p_; // state covariance
};

} // namespace weaver
