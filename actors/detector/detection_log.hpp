// Writes every camera's detections (or tracks) as MOT-format text
// (<dir>/cam<id>.txt: frame,id,x,y,w,h,score,-1,-1,-1 with 1-based frames,
// id -1 for detections), the format `weaver track --det`, `weaver eval mot`
// and the sim card's replay read.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/types.hpp"

namespace weaver {

class detection_log {
public:
  /// Creates `dir` if needed. Throws std::runtime_error when it cannot.
  explicit detection_log(std::string dir);
  /// Thread-safe; each camera's batches are written in the order given.
  void write(const detection_batch& b);
  /// Confirmed tracks' boxes as MOT results (frame,id,x,y,w,h,1,-1,-1,-1):
  /// updated events at their frame, a started one at the confirming frame.
  void write(const track_batch& b);

private:
  std::string dir_;
  std::ofstream& file(uint32_t camera);
  std::mutex mtx_;
  std::map<uint32_t, std::ofstream> files_;
};

} // namespace weaver
