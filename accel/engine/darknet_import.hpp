// Darknet importer: a .cfg network description plus its .weights file (the
// seed's YOLOv2, yolov2-tiny, yolov3-tiny). Layers: convolutional (with
// batch norm), maxpool, route, reorg, upsample, shortcut, region and yolo.
// The graph's input is NHWC RGB in [0,1]; layer i's output value is named
// "layer_<i>" (as Darknet numbers them) so tests can compare layer by layer.
#pragma once

#include <string>
#include <vector>

#include "accel/engine/graph.hpp"

namespace weaver::engine {

/// What the decoder needs from a region/yolo layer.
struct yolo_layer_info {
  std::string output; // value name of the head's output
  int version = 2; // 2: region (anchors in grid cells), 3: yolo (pixels)
  int classes = 0;
  std::vector<float> anchors; // (w,h) pairs of the boxes this head predicts
};

struct darknet_model_info {
  int width = 0, height = 0, channels = 3;
  std::vector<yolo_layer_info> heads;
};

/// Throws model_error naming the file and the section (layer index) on a
/// bad cfg, an unknown layer type, or weights that end before the last layer.
graph import_darknet(const std::string& cfg, const std::string& weights, darknet_model_info* info = nullptr);

/// Reads only the head description (no weights needed).
darknet_model_info read_darknet_info(const std::string& cfg);

} // namespace weaver::engine
