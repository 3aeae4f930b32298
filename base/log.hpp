// A tiny thread-safe logger: Debian's CAF compiles CAF_LOG_* away, so every
// component gets a named logger of ours. Level from WEAVER_LOG (error, warn,
// info, debug); default info.
#pragma once

#include <sstream>
#include <string>

namespace weaver {

enum class log_level { error = 0, warn = 1, info = 2, debug = 3 };

class logger {
public:
  explicit logger(std::string component) : component_(std::move(component)) {}

  template <class... Ts>
  void error(const Ts&... xs) const {
    emit(log_level::error, xs...);
  }
  template <class... Ts>
  void warn(const Ts&... xs) const {
    emit(log_level::warn, xs...);
  }
  template <class... Ts>
  void info(const Ts&... xs) const {
    emit(log_level::info, xs...);
  }
  template <class... Ts>
  void debug(const Ts&... xs) const {
    emit(log_level::debug, xs...);
  }

  static bool enabled(log_level l);
  static void set_level(log_level l);

private:
  template <class... Ts>
  void emit(log_level l, const Ts&... xs) const {
    if (!enabled(l)) return;
    std::ostringstream os;
    (os << ... << xs);
    write(l, os.str());
  }
  void write(log_level l, const std::string& line) const;

  std::string component_;
};

} // namespace weaver
