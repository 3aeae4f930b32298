// One camera's multi-object tracker behind one interface, so the tracker
// actor can run SORT (IoU only) or Deep SORT (motion gating + appearance).
#pragma once

#include <memory>
#include <string>

#include "actors/tracker/deep_sort.hpp"
#include "actors/tracker/sort_tracker.hpp"

namespace weaver {

class camera_tracker {
public:
  virtual ~camera_tracker() = default;
  virtual track_batch update(const detection_batch& b) = 0;
  virtual track_batch flush(timestamp_ms t) = 0;
  virtual size_t active() const = 0;
  virtual std::string snapshot() const = 0;
  virtual void restore(const std::string& text) = 0;
};

/// kind: "deepsort" or "sort". Throws std::invalid_argument otherwise.
std::unique_ptr<camera_tracker> make_camera_tracker(const std::string& kind, uint32_t camera, const sort_config& sort,
                                                    const deep_sort_config& deep);

} // namespace weaver
