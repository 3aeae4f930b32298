// What a card runs: one camera's frame in, that frame's detections out (boxes
// plus an appearance vector each). The detectors (accel/detect) implement it;
// the cards and the pool see only this, so the accelerator layer knows
// nothing of how a person is found.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "accel/engine/graph.hpp"
#include "base/types.hpp"

namespace weaver {

namespace engine {
class model;
class workspace;
} // namespace engine

/// A tensor a network workload reads after a run: a graph output (a head) or
/// an intermediate value (an embedding feature map), in storage order (NHWC).
struct network_tensor {
  std::string name; // value name in the compiled graph
  engine::shape_t shape;
  int output = -1; // index among the graph's outputs, -1 when intermediate
};

/// The tensor-level split of a workload that is a network, for cards that
/// run the network somewhere else (the xrt card): fill_input, a run of
/// compiled(), then finish(), gives what workload::run gives.
class network_stage {
public:
  virtual ~network_stage() = default;
  /// The compiled network for frames of this size (shared process-wide).
  virtual std::shared_ptr<const engine::model> compiled(cv::Size frame) = 0;
  /// What finish() reads, in its argument order.
  virtual const std::vector<network_tensor>& host_tensors(cv::Size frame) = 0;
  /// Resizes and normalises a BGR8 frame into `dst`, the network input
  /// (compiled(frame)->input_shape(): NHWC f32).
  virtual void fill_input(const cv::Mat& bgr, float* dst) = 0;
  /// Detections of `bgr` (with appearance) from one run's host_tensors, as
  /// pointers in that order.
  virtual std::vector<detection> finish(const cv::Mat& bgr, const std::vector<const float*>& tensors) = 0;
  /// Threads per convolution the network asks for.
  virtual int threads() const = 0;
};

class workload {
public:
  virtual ~workload() = default;
  virtual std::string name() const = 0;
  /// Detections of a BGR frame, each with its appearance vector, computed
  /// on the calling thread with that card worker's engine buffers `ws`.
  virtual std::vector<detection> run(const cv::Mat& bgr, engine::workspace& ws) = 0;
  /// Whether a frame's result depends on the frames before it (a background
  /// model): such a workload must see one camera's frames one at a time and
  /// in order, which whoever submits it (the detector actor) guarantees.
  virtual bool stateful() const { return false; }
  /// The tensor-level split when the workload is a network, else nullptr.
  virtual network_stage* network() { return nullptr; }
};

} // namespace weaver
