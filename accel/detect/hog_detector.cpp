#include "accel/detect/hog_detector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "accel/detect/nms.hpp"

namespace weaver {

namespace {

// Neighbouring raw windows of one person overlap at least this much.
constexpr float neighbor_iou = 0.5f;

} // namespace

hog_detector::hog_detector(const detector_options& opts)
  : opts_(opts), hog_(cv::Size(64, 128), cv::Size(16, 16), cv::Size(8, 8), cv::Size(8, 8), 9) {
  if (!(opts_.hog_upscale > 0) || opts_.hog_stride <= 0 || !(opts_.hog_scale_step > 1))
    throw std::invalid_argument("hog detector: need upscale > 0, stride > 0, scale step > 1");
  hog_.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
}

std::vector<detection> hog_detector::detect(const cv::Mat& bgr) {
  if (bgr.empty()) return {};
  const double s = opts_.hog_upscale;
  cv::Mat img;
  if (s == 1.0)
    img = bgr;
  else
    cv::resize(bgr, img, cv::Size(), s, s, s > 1 ? cv::INTER_LINEAR : cv::INTER_AREA);
  if (img.cols < hog_.winSize.width || img.rows < hog_.winSize.height) return {};

  // groupThreshold 0 returns every raw window with its SVM margin; our NMS
  // then keeps real scores (OpenCV's grouping averages boxes and loses them).
  std::vector<cv::Rect> found;
  std::vector<double> weights;
  hog_.detectMultiScale(img, found, weights, opts_.hog_threshold, cv::Size(opts_.hog_stride, opts_.hog_stride),
                        cv::Size(0, 0), opts_.hog_scale_step, 0.0, false);

  std::vector<box> raw;
  std::vector<float> scores;
  raw.reserve(found.size());
  for (size_t i = 0; i < found.size(); ++i) {
    const auto& r = found[i];
    raw.push_back({float(r.x), float(r.y), float(r.width), float(r.height)});
    // The margin is unbounded; a logistic maps it into (0,1), 0 -> 0.5.
    double w = i < weights.size() ? weights[i] : 0.0;
    scores.push_back(static_cast<float>(1.0 / (1.0 + std::exp(-w))));
  }

  std::vector<detection> out;
  const float fw = static_cast<float>(bgr.cols), fh = static_cast<float>(bgr.rows);
  for (size_t k : nms_indices(raw, scores, opts_.hog_nms_iou)) {
    if (scores[k] < opts_.min_score) continue;
    // A lone window is usually clutter; a person fires at several shifts/scales.
    if (opts_.hog_min_neighbors > 0) {
      int neighbors = 0;
      for (size_t j = 0; j < raw.size(); ++j)
        if (j != k && iou(raw[j], raw[k]) >= neighbor_iou) ++neighbors;
      if (neighbors < opts_.hog_min_neighbors) continue;
    }
    // The window pads the person on every side; keep its centred core and
    // map back to source pixels.
    const box& r = raw[k];
    float w = r.w * opts_.hog_box_width, h = r.h * opts_.hog_box_height;
    float cx = r.x + r.w / 2, cy = r.y + r.h / 2;
    float x0 = std::max(0.f, static_cast<float>((cx - w / 2) / s));
    float y0 = std::max(0.f, static_cast<float>((cy - h / 2) / s));
    float x1 = std::min(fw, static_cast<float>((cx + w / 2) / s));
    float y1 = std::min(fh, static_cast<float>((cy + h / 2) / s));
    if (x1 <= x0 || y1 <= y0) continue;
    detection d;
    d.bbox = {x0, y0, x1 - x0, y1 - y0};
    d.score = scores[k];
    d.class_id = 0;
    out.push_back(std::move(d));
  }
  return out;
}

} // namespace weaver
