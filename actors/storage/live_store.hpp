// Live frames beside the store: each camera's latest picture and boxes as
// the tracker beside it sent them over the mesh (actors/tracker/
// live_sampler), one file per camera (<dir>/<camera>.json: the frame's
// numbers, boxes and its JPEG in base64), so the query role, another
// process on the same volume, can hand it to the gateway. Each file is
// written whole (a temporary file renamed): a reader never sees half of
// one. A newer picture replaces the camera's file (the link delivers each
// tracker's batches in order). Pure: files only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/types.hpp"

namespace weaver {

/// A live frame's JSON form, one for the file beside the store and for the
/// query role's answer: camera, seq, time_ms, width, height, boxes (track,
/// x, y, w, h, score) and the JPEG in base64.
nlohmann::json live_frame_to_json(const live_frame& f);

/// Back from that form, as camera `camera`'s (a "camera" field, when there,
/// must say the same): nothing when a field is missing or of another type,
/// the boxes are too many or the JPEG is not base64. Not validated: callers
/// run codec::validate.
std::optional<live_frame> live_frame_from_json(const nlohmann::json& j, uint32_t camera);

class live_store {
public:
  /// Throws std::invalid_argument for an empty folder; created on put().
  explicit live_store(std::string dir);

  /// Keeps `f` as its camera's picture. The caller validated it
  /// (codec::validate). Throws std::runtime_error naming the file when it
  /// cannot be written.
  void put(const live_frame& f);

  /// The camera's picture, or nothing (none, unreadable, or one that does
  /// not pass codec::validate: the file is read as untrusted).
  std::optional<live_frame> get(uint32_t camera) const;

  /// Deletes every picture (weaver run --reset).
  void clear();

  const std::string& dir() const { return dir_; }

  /// The folder of a crops folder's live frames (<crops>/live).
  static std::string beside(const std::string& crops_dir) { return crops_dir + "/live"; }

private:
  std::string path(uint32_t camera) const;
  std::string dir_;
};

} // namespace weaver
