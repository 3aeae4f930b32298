// Small helpers shared by the engine tests: temp dirs, raw float32 files and
// error statistics against a reference runtime's output.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

inline std::filesystem::path test_dir(const std::string& tag) {
  auto d = std::filesystem::temp_directory_path() / ("weaver-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_f32(const std::filesystem::path& p, const std::vector<float>& v) {
  std::ofstream(p, std::ios::binary)
    .write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
}

inline std::vector<float> read_f32(const std::filesystem::path& p) {
  auto s = read_text(p);
  std::vector<float> v(s.size() / 4);
  std::copy(s.data(), s.data() + v.size() * 4, reinterpret_cast<char*>(v.data()));
  return v;
}

struct error_stats {
  double max_abs = 0, max_rel = 0, max_ref = 0;
  size_t nonfinite = 0;
};

/// Max absolute error, max relative error (|d| / max(|ref|, 1e-3)).
inline error_stats compare(const float* got, const std::vector<float>& ref) {
  error_stats e;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) {
      ++e.nonfinite;
      e.max_abs = INFINITY;
      continue;
    }
    double d = std::fabs(static_cast<double>(got[i]) - ref[i]);
    e.max_abs = std::max(e.max_abs, d);
    e.max_rel = std::max(e.max_rel, d / std::max(std::fabs(static_cast<double>(ref[i])), 1e-3));
    e.max_ref = std::max(e.max_ref, std::fabs(static_cast<double>(ref[i])));
  }
  return e;
}
