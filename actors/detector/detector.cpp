#include "actors/detector/detector.hpp"

#include <stdexcept>

#include "actors/detector/hog_detector.hpp"
#include "actors/detector/motion_detector.hpp"

namespace weaver {

std::unique_ptr<detector> make_detector(const std::string& kind,
                                        const detector_options& opts) {
  if (kind == "hog")
    return std::make_unique<hog_detector>(opts);
  if (kind == "motion")
    return std::make_unique<motion_detector>(opts);
  throw std::invalid_argument("unknown detector kind '" + kind
                              + "' (valid: hog, motion)");
}

} // namespace weaver
