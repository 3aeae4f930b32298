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
  /// One decodable head: output indices (cls/reg for NanoDet, cls for YOLO),
  /// its grid and stride, and the YOLO anchors.
  struct head {
    size_t cls = 0, reg = 0;
    int grid_h = 0, grid_w = 0, stride = 0;
    int classes = 0, version = 0;
    std::vector<float> anchors;
  };
  void prepare(cv::Size frame);
  void fill_input(const cv::Mat& bgr);
  /// Box `b` (input pixels) pooled from the feature map, minus the map mean.
  std::vector<float> embed(const box& b, const float* map, const std::vector<float>& mean) const;

  dnn_options o_;
  cv::Size frame_{0, 0}, input_{0, 0};
  std::unique_ptr<engine::session> session_;
  std::vector<head> heads_;       // found once per input size
  std::string feature_value_;     // value pooled for embeddings
  engine::shape_t feature_shape_;
  cv::Mat resized_;
};

} // namespace weaver
