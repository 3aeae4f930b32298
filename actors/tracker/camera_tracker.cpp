#include "actors/tracker/camera_tracker.hpp"

#include <stdexcept>

namespace weaver {

namespace {

template <class Tracker>
class adapter : public camera_tracker {
public:
  explicit adapter(Tracker t) : t_(std::move(t)) {}
  track_batch update(const detection_batch& b) override { return t_.update(b); }
  track_batch flush(timestamp_ms t) override { return t_.flush(t); }
  size_t active() const override { return t_.active(); }
  std::string snapshot() const override { return t_.snapshot(); }
  void restore(const std::string& text) override { t_.restore(text); }

private:
  Tracker t_;
};

} // namespace

std::unique_ptr<camera_tracker> make_camera_tracker(const std::string& kind, uint32_t camera, const sort_config& sort,
                                                    const deep_sort_config& deep) {
  if (kind == "deepsort") return std::make_unique<adapter<deep_sort>>(deep_sort{camera, deep});
  if (kind == "sort") return std::make_unique<adapter<sort_tracker>>(sort_tracker{camera, sort});
  throw std::invalid_argument("tracker kind '" + kind + "' (known: deepsort, sort)");
}

} // namespace weaver
