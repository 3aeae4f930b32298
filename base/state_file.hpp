// The snapshot file a restarted actor (tracker, re-id) resumes from:
// written atomically (temp file + rename, so a crash leaves the old one
// whole), at most once per period unless forced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weaver {

class state_file {
public:
  explicit state_file(std::string path = {}, int64_t period_ns = 1'000'000'000)
    : path_(std::move(path)), period_ns_(period_ns) {}

  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  /// Whether a save is due (always when `force`; never when disabled).
  bool due(bool force) const;
  /// Writes `text`; on failure logs it as `who` and returns false.
  bool save(const std::string& text, const char* who);
  /// The last saved text, or nothing when disabled or not saved yet.
  std::optional<std::string> load() const;

private:
  std::string path_;
  int64_t period_ns_;
  int64_t last_ns_ = 0;
};

} // namespace weaver
