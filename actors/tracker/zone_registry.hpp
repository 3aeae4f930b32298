// Each camera's zones and lines now, shared in one process by the REST
// gateway, which replaces them at run time (PUT /v1/cameras/{camera}/zones)
// and draws them, and the tracker, which evaluates them: before a batch's
// zone events the tracker reads version() (one atomic load) and, when it
// moved, takes the cameras changed since. So every batch the tracker starts
// after set() returned uses the new shapes. The tracker also notes each
// camera's frame size, which edits are checked against. Thread-safe; no CAF.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "actors/tracker/zone_shapes.hpp"

namespace weaver {

class zone_registry {
public:
  struct frame_size {
    int width = 0, height = 0;
  };

  /// The cameras (their configured shapes) and the frame sizes known
  /// before any frame (a crop's); only these cameras can be edited.
  explicit zone_registry(std::map<uint32_t, zone_shapes> cameras, std::map<uint32_t, frame_size> sizes = {});

  bool has(uint32_t camera) const;
  std::optional<zone_shapes> get(uint32_t camera) const;

  /// Replaces a known camera's shapes (false, nothing changed, for another
  /// camera), then tells each listener, in the order of set() calls, then
  /// the keeper; `kept` (if given) says whether a keeper kept them.
  bool set(uint32_t camera, zone_shapes shapes, bool* kept = nullptr);

  /// Called after each set() with the camera and its new shapes (on the
  /// caller's thread, one call at a time).
  void on_set(std::function<void(uint32_t, const zone_shapes&)> listener);

  /// What keeps the edits across restarts (tracker.zones_file): called
  /// after the listeners of each set(), true when it kept them. An answer
  /// that says "kept" must not rest on a write that failed.
  void keep_with(std::function<bool(uint32_t, const zone_shapes&)> keeper);

  /// How many set() calls so far.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  /// The cameras set after version `since`, with their shapes now; `*now`
  /// is the version they are of (pass it as `since` next time).
  std::vector<std::pair<uint32_t, zone_shapes>> changed_since(uint64_t since, uint64_t* now) const;

  /// The size of the camera's frames, as the tracker last saw them, else
  /// as known at start; nothing when not known.
  void note_frame(uint32_t camera, int width, int height);
  std::optional<frame_size> size_of(uint32_t camera) const;

private:
  struct entry {
    zone_shapes shapes;
    uint64_t version = 0; // of its last set()
    frame_size size;
  };
  mutable std::mutex mutex_;
  std::mutex listeners_mutex_; // held across a set() and its listeners: their order is the sets'
  std::map<uint32_t, entry> cameras_;
  std::vector<std::function<void(uint32_t, const zone_shapes&)>> listeners_;
  std::function<bool(uint32_t, const zone_shapes&)> keeper_;
  std::atomic<uint64_t> version_{0};
};

} // namespace weaver
