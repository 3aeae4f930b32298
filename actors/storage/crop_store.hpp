// Evidence crops beside the store: one small JPEG per camera-local track
// (actors/tracker/evidence), the picture behind each presence row, in a
// folder of its own (<dir>/<camera>/<track>.jpg). Written by the tracker of
// a process that also opens the cameras, read by the query role, deleted by
// the storage role's retention with the rows (by the file's age, as rows by
// theirs). Each file is written whole (a temporary file renamed), so a
// reader never sees half a picture. Pure: files only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "base/types.hpp"

namespace weaver {

class crop_store {
public:
  /// Crops are at most this large (a larger file is not served).
  static constexpr size_t max_bytes = max_crop_bytes;

  /// The folder is created on the first put().
  explicit crop_store(std::string dir);

  /// Stores a track's crop, replacing an earlier one. Throws
  /// std::runtime_error naming the file when it cannot be written.
  void put(uint32_t camera, uint64_t track, const std::string& jpeg);

  /// A track's crop, or nothing.
  std::optional<std::string> get(uint32_t camera, uint64_t track) const;

  /// Deletes the crops last written before `cutoff`; their number.
  size_t delete_older_than(std::chrono::system_clock::time_point cutoff);

  /// Deletes every crop (weaver run --reset).
  void clear();

  const std::string& dir() const { return dir_; }

private:
  std::string path(uint32_t camera, uint64_t track) const;
  std::string dir_;
};

} // namespace weaver
