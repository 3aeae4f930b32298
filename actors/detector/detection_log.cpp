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

std::ofstream& detection_log::file(uint32_t camera) {
  auto it = files_.find(camera);
  if (it == files_.end()) {
    auto path = dir_ + "/cam" + std::to_string(camera) + ".txt";
    it = files_.emplace(camera, std::ofstream{path}).first;
    if (!it->second) throw std::runtime_error("cannot write " + path);
  }
  return it->second;
}

void detection_log::write(const detection_batch& b) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto& out = file(b.camera_id);
  char line[160];
  for (auto& d : b.detections) {
    std::snprintf(line, sizeof line, "%llu,-1,%.2f,%.2f,%.2f,%.2f,%.5f,-1,-1,-1\n",
                  static_cast<unsigned long long>(b.seq + 1), d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h, d.score);
    out << line;
  }
  out.flush();
}

void detection_log::write(const track_batch& b) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto& out = file(b.camera_id);
  char line[160];
  for (auto& e : b.events) {
    if (e.state == track_state::ended) continue;
    uint64_t seq = e.state == track_state::started ? b.seq : e.frame_seq;
    std::snprintf(line, sizeof line, "%llu,%llu,%.2f,%.2f,%.2f,%.2f,1,-1,-1,-1\n",
                  static_cast<unsigned long long>(seq + 1), static_cast<unsigned long long>(e.track_id), e.bbox.x,
                  e.bbox.y, e.bbox.w, e.bbox.h);
    out << line;
  }
  out.flush();
}

} // namespace weaver
