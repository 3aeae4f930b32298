// OpenCV's built-in HOG + linear SVM people detector (Dalal-Triggs, 64x128
// window), made usable on surveillance footage where people are small.
#pragma once

#include <opencv2/objdetect.hpp>

#include "accel/detect/detector.hpp"

namespace weaver {

class hog_detector : public detector {
public:
  explicit hog_detector(const detector_options& opts = {});

  std::string name() const override { return "hog"; }
  std::vector<detection> detect(const cv::Mat& bgr) override;

private:
  detector_options opts_;
  cv::HOGDescriptor hog_;
};

} // namespace weaver
