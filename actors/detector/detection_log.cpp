#include "actors/detector/detection_log.hpp"

#include <filesystem>
#include <stdexcept>

namespace weaver {

detection_log::detection_log(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_))
    throw std::runtime_error("detections: cannot create directory " + dir_);
}

void detection_log::write(const detection_batch& b) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto it = files_.find(b.camera_id);
  if (it == files_.end()) {
    auto path = dir_ + "/cam" + std::to_string(b.camera_id) + ".txt";
    it = files_.emplace(b.camera_id, std::ofstream{path}).first;
    if (!it->second) throw std::runtime_error("detections: cannot write " + path);
  }
  char line[160];
  for (auto& d : b.detections) {
    std::snprintf(line, sizeof line, "%llu,-1,%.2f,%.2f,%.2f,%.2f,%.5f,-1,-1,-1\n",
                  static_cast<unsigned long long>(b.seq + 1), d.bbox.x, d.bbox.y, d.bbox.w,
                  d.bbox.h, d.score);
    it->second << line;
  }
  it->second.flush();
}

} // namespace weaver
