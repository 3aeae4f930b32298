#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace weaver {

namespace {

log_level initial_level() {
  const char* env = std::getenv("WEAVER_LOG");
  if (env == nullptr) return log_level::info;
  if (std::strcmp(env, "error") == 0) return log_level::error;
  if (std::strcmp(env, "warn") == 0) return log_level::warn;
  if (std::strcmp(env, "debug") == 0) return log_level::debug;
  return log_level::info;
}

std::atomic<int> current_level{static_cast<int>(initial_level())};
std::mutex write_mtx;

const char* name(log_level l) {
  switch (l) {
    case log_level::error:
      return "ERROR";
    case log_level::warn:
      return "WARN";
    case log_level::info:
      return "INFO";
    case log_level::debug:
      return "DEBUG";
  }
  return "?";
}

} // namespace

bool logger::enabled(log_level l) { return static_cast<int>(l) <= current_level.load(std::memory_order_relaxed); }

void logger::set_level(log_level l) { current_level = static_cast<int>(l); }

void logger::write(log_level l, const std::string& line) const {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> guard{write_mtx};
  std::fprintf(stderr, "%lld.%03lld %-5s %s: %s\n", static_cast<long long>(ms / 1000),
               static_cast<long long>(ms % 1000), name(l), component_.c_str(), line.c_str());
}

} // namespace weaver
