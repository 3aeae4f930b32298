#include "accel/detect/motion_detector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace weaver {

namespace {

// MOG2 marks shadows 127 and foreground 255.
constexpr double shadow_cut = 200;

// An odd elliptic kernel of about `frac` x the image height (>= 3 px).
// Height, not width: column crops of a frame keep the people's scale.
cv::Mat kernel(double frac, int height) {
  int k = std::max(3, static_cast<int>(std::lround(frac * height)));
  k |= 1;
  return cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k));
}

} // namespace

motion_detector::motion_detector(const detector_options& opts) : opts_(opts) {
  if (opts_.motion_history <= 0 || opts_.motion_var_threshold <= 0)
    throw std::invalid_argument("motion detector: need history > 0 and var threshold > 0");
}

void motion_detector::restart(cv::Size size) {
  model_ = cv::createBackgroundSubtractorMOG2(opts_.motion_history, opts_.motion_var_threshold, true);
  size_ = size;
  frames_ = 0;
  open_kernel_ = kernel(opts_.motion_open, size.height);
  close_kernel_ = kernel(opts_.motion_close, size.height);
}

std::vector<detection> motion_detector::detect(const cv::Mat& bgr) {
  if (bgr.empty()) return {};
  if (!model_ || bgr.size() != size_) restart(bgr.size());
  model_->apply(bgr, mask_, opts_.motion_learning_rate);
  ++frames_;

  cv::threshold(mask_, mask_, shadow_cut, 255, cv::THRESH_BINARY);
  // Open drops speckle noise; close then joins a person's torso, legs and
  // head into one blob.
  cv::morphologyEx(mask_, mask_, cv::MORPH_OPEN, open_kernel_);
  cv::morphologyEx(mask_, mask_, cv::MORPH_CLOSE, close_kernel_);

  int n = cv::connectedComponentsWithStats(mask_, labels_, stats_, centroids_, 8, CV_32S);
  const double max_area = opts_.motion_max_area * bgr.cols * bgr.rows;
  std::vector<detection> out;
  for (int i = 1; i < n; ++i) { // label 0 is the background
    const int* st = stats_.ptr<int>(i);
    int x = st[cv::CC_STAT_LEFT], y = st[cv::CC_STAT_TOP];
    int w = st[cv::CC_STAT_WIDTH], h = st[cv::CC_STAT_HEIGHT];
    int area = st[cv::CC_STAT_AREA];
    if (area < opts_.motion_min_area || area > max_area) continue;
    double aspect = static_cast<double>(h) / w;
    if (aspect < opts_.motion_min_aspect || aspect > opts_.motion_max_aspect) continue;
    // A person fills roughly half to three quarters of their box; ragged
    // noise blobs fill much less.
    float fill = static_cast<float>(area) / static_cast<float>(w * h);
    float score = std::min(1.f, fill);
    if (score < opts_.min_score) continue;
    detection d;
    d.bbox = {float(x), float(y), float(w), float(h)};
    d.score = score;
    d.class_id = 0;
    out.push_back(std::move(d));
  }
  // Largest first, so callers that cap the count keep the most salient.
  std::stable_sort(out.begin(), out.end(),
                   [](const detection& a, const detection& b) { return a.bbox.area() > b.bbox.area(); });
  return out;
}

} // namespace weaver
