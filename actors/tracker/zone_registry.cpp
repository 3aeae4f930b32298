#include "actors/tracker/zone_registry.hpp"

namespace weaver {

zone_registry::zone_registry(std::map<uint32_t, zone_shapes> cameras, std::map<uint32_t, frame_size> sizes) {
  for (auto& [id, s] : cameras) {
    auto& e = cameras_[id];
    e.shapes = std::move(s);
    if (auto it = sizes.find(id); it != sizes.end()) e.size = it->second;
  }
}

bool zone_registry::has(uint32_t camera) const {
  std::lock_guard<std::mutex> lock{mutex_};
  return cameras_.count(camera) > 0;
}

std::optional<zone_shapes> zone_registry::get(uint32_t camera) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto it = cameras_.find(camera);
  if (it == cameras_.end()) return std::nullopt;
  return it->second.shapes;
}

bool zone_registry::set(uint32_t camera, zone_shapes shapes, bool* kept) {
  if (kept) *kept = false;
  std::lock_guard<std::mutex> order{listeners_mutex_};
  {
    std::lock_guard<std::mutex> lock{mutex_};
    auto it = cameras_.find(camera);
    if (it == cameras_.end()) return false;
    it->second.shapes = shapes;
    it->second.version = version_.load() + 1;
    version_.store(it->second.version, std::memory_order_release);
  }
  for (auto& l : listeners_) l(camera, shapes);
  const bool k = keeper_ && keeper_(camera, shapes);
  if (kept) *kept = k;
  return true;
}

void zone_registry::keep_with(std::function<bool(uint32_t, const zone_shapes&)> keeper) {
  std::lock_guard<std::mutex> order{listeners_mutex_};
  keeper_ = std::move(keeper);
}

void zone_registry::on_set(std::function<void(uint32_t, const zone_shapes&)> listener) {
  std::lock_guard<std::mutex> order{listeners_mutex_};
  listeners_.push_back(std::move(listener));
}

std::vector<std::pair<uint32_t, zone_shapes>> zone_registry::changed_since(uint64_t since, uint64_t* now) const {
  std::lock_guard<std::mutex> lock{mutex_};
  std::vector<std::pair<uint32_t, zone_shapes>> out;
  for (auto& [id, e] : cameras_)
    if (e.version > since) out.emplace_back(id, e.shapes);
  if (now) *now = version_.load();
  return out;
}

void zone_registry::note_frame(uint32_t camera, int width, int height) {
  if (width <= 0 || height <= 0) return;
  std::lock_guard<std::mutex> lock{mutex_};
  if (auto it = cameras_.find(camera); it != cameras_.end()) it->second.size = {width, height};
}

std::optional<zone_registry::frame_size> zone_registry::size_of(uint32_t camera) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto it = cameras_.find(camera);
  if (it == cameras_.end() || it->second.size.width <= 0) return std::nullopt;
  return it->second.size;
}

} // namespace weaver
