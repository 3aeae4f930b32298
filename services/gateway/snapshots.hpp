// The console's camera snapshots: a camera's newest frame (actors/live_view)
// as a JPEG, with the boxes of the tracks in that very frame. Encoding costs
// the gateway's CPU, so each camera is encoded at most `max_fps` times a
// second whatever the number of viewers: a request within 1/max_fps of the
// last encoding gets the same bytes. The last few encodings stay available
// by sequence number, so a page that read the boxes of frame N gets frame
// N's picture. Thread-safe; pure (no HTTP). remote_snapshots below does
// the same for cameras of other processes, whose pictures come encoded.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/live_view.hpp"

namespace weaver::gateway {

struct snapshot_settings {
  double max_fps = 2; // encodings per camera per second, at most
  int jpeg_quality = 70; // 1..100
  int max_width = 960; // wider frames are scaled down (boxes stay in source pixels)
};

struct encoded_snapshot {
  uint32_t camera = 0;
  uint64_t seq = 0;
  timestamp_ms time_ms = 0;
  int width = 0, height = 0; // the source frame (what the boxes refer to)
  std::vector<live_box> boxes;
  std::shared_ptr<const std::string> jpeg; // never null
  // Wall clock when the camera's newest picture reached where it is kept
  // (this process's live view, or storage from the mesh): the picture's
  // age, whatever time the video carries.
  timestamp_ms arrived_ms = 0;
};

/// How old a camera's picture is, and whether that makes the camera stale
/// (down): older than `stale_after_ms` (0 = never stale). A picture from
/// the future (clocks of two hosts apart) is of age 0.
struct picture_age {
  int64_t age_ms = 0;
  bool stale = false;
};
picture_age age_of(const encoded_snapshot& s, timestamp_ms now_ms, int64_t stale_after_ms);

class snapshot_cache {
public:
  using clock = std::chrono::steady_clock;

  /// Throws std::invalid_argument for a null view, max_fps <= 0 or a
  /// quality outside 1..100.
  snapshot_cache(std::shared_ptr<const live_view> view, snapshot_settings s);

  /// The camera's newest frame, encoded when the last encoding is older than
  /// 1 / max_fps and the view has a newer frame; else the last encoding.
  /// Nothing when the view has no frame of this camera.
  std::optional<encoded_snapshot> latest(uint32_t camera, clock::time_point now = clock::now());

  /// One of the camera's last encodings by sequence number, or nothing.
  std::optional<encoded_snapshot> at(uint32_t camera, uint64_t seq) const;

  /// JPEG encodings so far (all cameras).
  uint64_t encodings() const;

  /// Cameras with an entry (only those the view has frames of).
  size_t cameras() const;

  const snapshot_settings& settings() const { return settings_; }

private:
  struct camera_cache {
    std::deque<encoded_snapshot> recent; // newest last
    std::optional<clock::time_point> encoded_at;
  };
  std::shared_ptr<const live_view> view_;
  snapshot_settings settings_;
  mutable std::mutex mutex_;
  std::map<uint32_t, camera_cache> cams_;
  uint64_t encodings_ = 0;
};

/// The snapshots of cameras that run in another process: each camera's
/// latest live frame as storage keeps it from the mesh, fetched (from the
/// query role) at most `max_fps` times a second per camera whatever the
/// number of viewers, the last few kept by sequence number like
/// snapshot_cache's. Only cameras in `known` are fetched: the id comes from
/// a URL. Thread-safe; pure (the fetch is given).
class remote_snapshots {
public:
  using clock = std::chrono::steady_clock;
  using fetch_fn = std::function<std::optional<encoded_snapshot>(uint32_t camera)>;

  /// Throws std::invalid_argument for max_fps <= 0 or no fetch.
  remote_snapshots(fetch_fn fetch, double max_fps, std::vector<uint32_t> known);

  /// The camera's latest snapshot: fetched when the last fetch is 1/max_fps
  /// old, else the last one. Nothing for an unknown camera or before any.
  std::optional<encoded_snapshot> latest(uint32_t camera, clock::time_point now = clock::now());

  /// One of the camera's last snapshots by sequence number, or nothing.
  std::optional<encoded_snapshot> at(uint32_t camera, uint64_t seq) const;

  /// Fetches so far (all cameras).
  uint64_t fetches() const;

private:
  struct camera_cache {
    std::deque<encoded_snapshot> recent; // newest last
    std::optional<clock::time_point> fetched_at;
  };
  fetch_fn fetch_;
  double max_fps_;
  std::vector<uint32_t> known_;
  mutable std::mutex mutex_;
  std::map<uint32_t, camera_cache> cams_;
  uint64_t fetches_ = 0;
};

} // namespace weaver::gateway
