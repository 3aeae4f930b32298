// A person detector on the DNN engine: NanoDet (TF.js graph model, the
// default when its files are present), a Darknet YOLO (v2 region / v3
// yolo heads), or an ONNX file whose head (NanoDet, YOLO v2/v3/v5/v8) the
// configuration names. Pre-processing, head decoding, NMS, the person filter and a
// learned appearance embedding (backbone activations pooled inside each box).
#pragma once

#include <memory>
#include <string>

#include "accel/detect/detector.hpp"
#include "accel/detect/letterbox.hpp"
#include "accel/engine/executor.hpp"

namespace weaver {

/// One compiled model per (file, input size) in the process, shared by every
/// camera's detector; the sessions (buffers) belong to the card workers.
std::shared_ptr<const engine::model> shared_model(const dnn_options& o, int height, int width);

class dnn_detector : public detector, public network_stage {
public:
  explicit dnn_detector(dnn_options o);
  std::string name() const override { return o_.kind; }
  /// Runs on a session of its own, made on first use (tools, tests).
  std::vector<detection> detect(const cv::Mat& bgr) override;
  /// Runs on `ws`'s session of the model: what card workers call.
  std::vector<detection> detect_on(const cv::Mat& bgr, engine::workspace& ws) override;
  /// Compiles the model at its configured input size (the model's own when
  /// the input follows the source) and finds its heads: a model_error naming
  /// the head, what it expects and the model's outputs when they do not fit.
  /// What the start-up check and `weaver check` run.
  void check();
  /// Input size the network runs at for frames of this size.
  cv::Size input_size(cv::Size frame) const;
  const dnn_options& options() const { return o_; }
  network_stage* network() override { return this; }

  // The same detection split at tensor level (network_stage), for cards that
  // run the network somewhere else (the xrt card): detect() is fill_input +
  // a run of compiled() + decode(), so both paths give identical detections.

  /// The compiled network for frames of this size (shared process-wide).
  std::shared_ptr<const engine::model> compiled(cv::Size frame) override;
  /// What decode() reads, in its argument order: the heads' outputs, then
  /// the embedding feature map when embeddings are on.
  const std::vector<network_tensor>& host_tensors(cv::Size frame) override;
  /// Resizes (stretched, or letterboxed with grey 114 bands) and normalises
  /// a BGR8 frame into `dst`, the network input
  /// (compiled(frame)->input_shape(): NHWC f32).
  void fill_input(const cv::Mat& bgr, float* dst) override;
  /// Detections (boxes in frame pixels, embeddings) from one run's
  /// host_tensors(frame), as pointers in that order.
  std::vector<detection> decode(cv::Size frame, const std::vector<const float*>& tensors);
  /// Where frames of this size land in the network input.
  const input_placement& placement(cv::Size frame);
  /// decode(), then each detection's appearance vector.
  std::vector<detection> finish(const cv::Mat& bgr, const std::vector<const float*>& tensors) override;
  int threads() const override { return o_.threads; }

private:
  /// One decodable head: positions in host_tensors_ (cls/reg for NanoDet,
  /// cls for YOLO), its grid and stride, and the YOLO anchors.
  struct head {
    size_t cls = 0, reg = 0;
    int grid_h = 0, grid_w = 0, stride = 0;
    int classes = 0, version = 0;
    std::vector<float> anchors;
    int points = 0; // yolov5 / yolov8: anchor points
  };
  enum class head_kind { nanodet, darknet, yolov2, yolov3, yolov5, yolov8 };
  /// Model, heads and tensors for a frame size; cheap when it is unchanged.
  void prepare(cv::Size frame);
  /// heads_, host_tensors_ and the embedding source for model_.
  void find_heads();
  void find_yolo_heads(); // yolov2 / yolov3 from an .onnx
  void find_point_heads(); // yolov5 / yolov8
  size_t host_tensor(size_t output); // position of graph output `output`, added once
  /// Box `b` (input pixels) pooled from the feature map, minus the map mean.
  std::vector<float> embed(const box& b, const float* map, const std::vector<float>& mean) const;

  dnn_options o_;
  head_kind head_ = head_kind::nanodet; // the outputs' decoding and the input's scaling
  cv::Size frame_{0, 0}, input_{0, 0};
  input_placement place_; // frame_ in input_: stretched, or letterboxed (dnn_options::letterbox)
  std::shared_ptr<const engine::model> model_;
  std::unique_ptr<engine::workspace> own_; // detect(bgr) only, made on first use
  std::vector<head> heads_; // found once per input size
  std::vector<network_tensor> host_tensors_;
  int feature_ = -1; // position of the embedding map in host_tensors_
  engine::shape_t feature_shape_;
  cv::Mat resized_, canvas_;
};

} // namespace weaver
