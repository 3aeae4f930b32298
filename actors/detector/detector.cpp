#include "actors/detector/detector.hpp"

#include <stdexcept>

#include "actors/detector/dnn_detector.hpp"
#include "actors/detector/hog_detector.hpp"
#include "actors/detector/motion_detector.hpp"

namespace weaver {

const std::vector<std::string>& detector_kinds() {
  static const std::vector<std::string> kinds{"nanodet", "darknet", "hog", "motion"};
  return kinds;
}

bool stateless_detector(const std::string& kind) { return kind != "motion"; }

bool dnn_detector_kind(const std::string& kind) { return kind == "nanodet" || kind == "darknet"; }

std::unique_ptr<detector> make_detector(const std::string& kind,
                                        const detector_options& opts) {
  if (kind == "hog")
    return std::make_unique<hog_detector>(opts);
  if (kind == "motion")
    return std::make_unique<motion_detector>(opts);
  if (dnn_detector_kind(kind)) {
    auto d = opts.dnn;
    d.kind = kind;
    return std::make_unique<dnn_detector>(d);
  }
  std::string valid;
  for (const auto& k : detector_kinds()) valid += (valid.empty() ? "" : ", ") + k;
  throw std::invalid_argument("unknown detector kind '" + kind + "' (valid: " + valid + ")");
}

} // namespace weaver
