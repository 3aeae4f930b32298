// A person detector on the DNN engine: NanoDet (TF.js graph model, the
// default when its files are present) or a Darknet YOLO (v2 region / v3
// yolo heads). Pre-processing, head decoding, NMS, the person filter and a
// learned appearance embedding (backbone activations pooled inside each box).
#pragma once

#include <memory>
#include <string>

#include "accel/engine/executor.hpp"
#include "actors/detector/detector.hpp"

namespace weaver {

/// One compiled model per (file, input size) in the process, shared by every
/// camera's detector; each detector owns a session (its buffers).
std::shared_ptr<const engine::model> shared_model(const dnn_options& o, int height, int width);

class dnn_detector : public detector {
public:
  explicit dnn_detector(dnn_options o);
  std::string name() const override { return o_.kind; }
  std::vector<detection> detect(const cv::Mat& bgr) override;
  /// Input size the network runs at for frames of this size.
  cv::Size input_size(cv::Size frame) const;

private:
  void prepare(cv::Size frame);
  void fill_input(const cv::Mat& bgr);
  std::vector<float> embed(const box& b_in) const;

  dnn_options o_;
  cv::Size frame_{0, 0}, input_{0, 0};
  std::unique_ptr<engine::session> session_;
  std::string feature_value_;     // value pooled for embeddings
  cv::Mat resized_;
};

} // namespace weaver
