// Snapshot form of an 8-state Kalman filter (kalman_box, kalman_xyah): the
// mean then the covariance, row-major, 72 numbers.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <opencv2/core/matx.hpp>

namespace weaver {

inline std::vector<double> pack_filter_state(const cv::Vec<double, 8>& x, const cv::Matx<double, 8, 8>& p) {
  std::vector<double> v(x.val, x.val + 8);
  v.insert(v.end(), p.val, p.val + 64);
  return v;
}

/// Throws std::invalid_argument on another count than 72.
inline void unpack_filter_state(const std::vector<double>& v, cv::Vec<double, 8>& x, cv::Matx<double, 8, 8>& p) {
  if (v.size() != 72) throw std::invalid_argument("filter state: expected 72 numbers");
  std::copy(v.begin(), v.begin() + 8, x.val);
  std::copy(v.begin() + 8, v.end(), p.val);
}

} // namespace weaver
