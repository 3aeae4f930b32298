// Moving-blob person detector for static cameras: MOG2 background model,
// shadow removal, morphology, connected components, shape filter.
#pragma once

#include <cstdint>

#include <opencv2/video/background_segm.hpp>

#include "accel/detect/detector.hpp"

namespace weaver {

class motion_detector : public detector {
public:
  explicit motion_detector(const detector_options& opts = {});

  std::string name() const override { return "motion"; }
  /// The background model learns from every frame, in order.
  bool stateful() const override { return true; }

  /// Updates the background model with `bgr` and returns its moving blobs.
  /// The first frames only build the model and yield few or no boxes. A
  /// change of image size restarts the model.
  std::vector<detection> detect(const cv::Mat& bgr) override;

  /// The cleaned foreground mask of the last frame (255 = moving), for
  /// debugging and tests.
  const cv::Mat& foreground() const { return mask_; }

  /// Frames the current background model has seen.
  uint64_t frames() const { return frames_; }

private:
  void restart(cv::Size size);

  detector_options opts_;
  cv::Ptr<cv::BackgroundSubtractorMOG2> model_;
  cv::Size size_;
  cv::Mat open_kernel_, close_kernel_;
  cv::Mat mask_, labels_, stats_, centroids_;
  uint64_t frames_ = 0;
};

} // namespace weaver
