// Classical CPU person detectors behind one interface: HOG (any camera) and
// background-subtraction motion blobs (static cameras). They need no model
// files, so Weaver runs end to end without a DNN or an accelerator card.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "accel/detect/appearance.hpp"
#include "accel/workload.hpp"
#include "base/types.hpp"

namespace weaver {

/// Tuning of the detectors. Defaults were chosen by measuring recall,
/// precision (IoU >= 0.3 / 0.5, every 4th frame) and time on PETS09-S2L1
/// (vtest.avi, 768x576, people 50-150 px tall) on 2 cores:
///   hog    upscale 1.5, threshold 0.5: R 0.84/0.80, P 0.93/0.89, ~125 ms
///          (upscale 2.0: R +0.02, 2x the time; 1.0: R 0.55, misses the small)
///   motion min area 400, close 0.008:  R 0.80/0.69, P 0.96/0.82, ~6 ms
/// The DNN detectors (dnn_detector.hpp).
struct dnn_options {
  std::string kind = "nanodet"; // nanodet | darknet | onnx
  std::string model; // nanodet: model.json (or .onnx); darknet: .cfg; onnx: .onnx
  std::string weights; // darknet: .weights
  // Network input size. 0 = the model's own (NanoDet 416x416); -1 = the
  // frame's size times input_scale, rounded up to a multiple of 32 (fully
  // convolutional models only). NanoDet on vtest.avi, IoU 0.5: scale 1.0
  // R .884 P .872; 0.75 R .908 P .945 at 0.6x the time (tools/eval_detector).
  int input_width = -1, input_height = -1;
  float input_scale = 0.75f;
  float score_threshold = 0.5f; // vtest.avi: 0.4 -> R .90 P .78; 0.5 -> .88/.87; 0.6 -> .86/.94
  float nms_iou = 0.5f;
  int person_class = 0; // COCO: 0
  int threads = 1; // per convolution; card workers are the parallelism
  bool embedding = true; // pooled backbone features per detection
  // Where NanoDet's GFL head measures box distances from, in cells: 0.5 (the
  // cell centre) gives recall 0.86 on vtest.avi's first 200 frames where 0
  // (the corner) gives 0.77 at IoU 0.5: the model was trained with centres.
  float nanodet_offset = 0.5f;
  // "f32", or "int8": convolutions in int8 with the numbers of `int8_model`
  // (written by `weaver model quantize` from `model`).
  std::string precision = "f32";
  std::string int8_model;
  // int8: compute exactly as the weaver_dnn kernel (s32 sums requantized in
  // fixed point, every layer's codes identical to the kernel's); off, oneDNN
  // requantizes inside each conv (faster; codes may differ by one, boxes
  // within IoU 0.9). The config forces it on when an xrt card is in the pool.
  bool int8_exact = false;
  // kind onnx: what the outputs are (dnn_heads()). nanodet: NanoDet's
  // pre-processing and GFL levels; yolov2 / yolov3: Weaver's export of a
  // Darknet YOLO ([1,H,W,A*(5+C)] after the activations) with `anchors`;
  // yolov5: one [1,points,5+C] output (boxes decoded in the graph, with
  // objectness); yolov8: one [1,4+C,points] output (no objectness). The
  // yolo heads take RGB in [0,1].
  std::string head;
  // yolov2 / yolov3: anchor (w, h) pairs, Darknet's order (v2 grid cells,
  // v3 input pixels); v3's coarsest output takes the last group.
  std::vector<float> anchors;
  // The frame letterboxed into the input (aspect kept, centred, grey 114
  // bands), boxes mapped back through it: YOLOv5 / YOLOv8 exports are
  // trained so. Off: stretched to the input (NanoDet, the Darknet YOLOs).
  bool letterbox = false;
};

/// What detector.dnn.head accepts.
const std::vector<std::string>& dnn_heads();

struct detector_options {
  // --- both
  float min_score = 0.0f; // drop detections scoring below this

  // --- hog
  double hog_upscale = 1.5; // HOG's 64x128 window misses people < ~100 px
  double hog_threshold = 0.5; // SVM margin; 0 adds ~4% recall for ~15% precision
  double hog_scale_step = 1.05; // pyramid step
  int hog_stride = 8; // window stride in (upscaled) pixels
  float hog_nms_iou = 0.3f; // overlap above which the weaker box goes
  int hog_min_neighbors = 1; // raw windows needed around a kept box
  float hog_box_width = 0.53f; // person's share of the 64x128 window, fitted
  float hog_box_height = 0.75f; // to the PETS09 ground-truth box sizes

  // --- motion
  int motion_min_area = 400; // blob pixels (at the image's resolution)
  double motion_max_area = 0.25; // fraction of the frame: larger = light change
  double motion_min_aspect = 0.8; // blob height / width
  double motion_max_aspect = 6.0;
  double motion_learning_rate = -1; // MOG2; -1 = automatic (1/history)
  int motion_history = 500;
  double motion_var_threshold = 16;
  double motion_open = 0.005; // morphology kernels, fraction of image height
  double motion_close = 0.008; // ~5 px at 576: joins limbs, not neighbours

  // --- nanodet / darknet
  dnn_options dnn;

  // --- all: how each detection's appearance vector weighs the box's pixels
  // (`detector.appearance`; the mask pointer is not used here).
  appearance_options appearance;
};

/// A person detector, and the workload a card runs for it: its detections
/// plus an appearance vector each (appearance.hpp).
class detector : public workload {
public:
  /// Detects people in a BGR image; boxes in that image's pixels, class_id 0,
  /// score in [0,1]. Stateful detectors (motion) must be fed one camera's
  /// frames in order.
  virtual std::vector<detection> detect(const cv::Mat& bgr) = 0;
  /// The same, with the engine buffers of the calling card worker: a DNN
  /// detector then keeps none of its own, so a camera costs no session.
  /// Detectors without engine buffers ignore `ws`.
  virtual std::vector<detection> detect_on(const cv::Mat& bgr, engine::workspace& ws) {
    (void)ws;
    return detect(bgr);
  }
  /// detect_on, then each detection's appearance vector.
  std::vector<detection> run(const cv::Mat& bgr, engine::workspace& ws) override;
  /// How the appearance vectors weigh pixels (make_detector sets it).
  void set_appearance(const appearance_options& o) {
    appearance_ = o;
    appearance_.mask = nullptr;
  }
  const appearance_options& appearance() const { return appearance_; }

protected:
  appearance_options appearance_;
};

/// The kinds make_detector knows: nanodet, darknet, onnx, hog, motion.
const std::vector<std::string>& detector_kinds();

/// Whether a kind runs the DNN engine (nanodet, darknet, onnx): a model to
/// compile, engines worth preparing, a kind xrt cards can run.
bool dnn_detector_kind(const std::string& kind);

/// kind: "nanodet", "darknet", "onnx" (DNN engine, opts.dnn), "hog" or "motion".
/// Throws std::invalid_argument naming the kind and the valid ones otherwise.
std::unique_ptr<detector> make_detector(const std::string& kind, const detector_options& opts = {});

} // namespace weaver
