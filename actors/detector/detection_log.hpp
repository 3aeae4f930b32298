// Writes every camera's detections as MOT-format text (<dir>/cam<id>.txt:
// frame,-1,x,y,w,h,score,-1,-1,-1 with 1-based frames), the format
// `weaver track --det` and the sim card's replay read back.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "actors/types.hpp"

namespace weaver {

class detection_log {
public:
  /// Creates `dir` if needed. Throws std::runtime_error when it cannot.
  explicit detection_log(std::string dir);
  /// Thread-safe; each camera's batches are written in the order given.
  void write(const detection_batch& b);

private:
  std::string dir_;
  std::mutex mtx_;
  std::map<uint32_t, std::ofstream> files_;
};

} // namespace weaver
