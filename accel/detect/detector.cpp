#include "accel/detect/detector.hpp"

#include <stdexcept>

#include "accel/detect/appearance.hpp"
#include "accel/detect/dnn_detector.hpp"
#include "accel/detect/hog_detector.hpp"
#include "accel/detect/motion_detector.hpp"

namespace weaver {

std::vector<detection> detector::run(const cv::Mat& bgr, engine::workspace& ws) {
  auto found = detect_on(bgr, ws);
  for (auto& d : found) d.feature = appearance_descriptor(bgr, d.bbox, appearance_);
  return found;
}

const std::vector<std::string>& detector_kinds() {
  static const std::vector<std::string> kinds{"nanodet", "darknet", "onnx", "hog", "motion"};
  return kinds;
}

bool dnn_detector_kind(const std::string& kind) { return kind == "nanodet" || kind == "darknet" || kind == "onnx"; }

const std::vector<std::string>& dnn_heads() {
  static const std::vector<std::string> heads{"nanodet", "yolov2", "yolov3", "yolov5", "yolov8"};
  return heads;
}

std::unique_ptr<detector> make_detector(const std::string& kind, const detector_options& opts) {
  std::unique_ptr<detector> made;
  if (kind == "hog") made = std::make_unique<hog_detector>(opts);
  if (kind == "motion") made = std::make_unique<motion_detector>(opts);
  if (dnn_detector_kind(kind)) {
    auto d = opts.dnn;
    d.kind = kind;
    made = std::make_unique<dnn_detector>(d);
  }
  if (made) {
    made->set_appearance(opts.appearance);
    return made;
  }
  std::string valid;
  for (const auto& k : detector_kinds()) valid += (valid.empty() ? "" : ", ") + k;
  throw std::invalid_argument("unknown detector kind '" + kind + "' (valid: " + valid + ")");
}

} // namespace weaver
