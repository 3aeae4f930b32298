#include "base/state_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace weaver {

bool state_file::due(bool force) const {
  if (!enabled()) return false;
  return force || steady_now_ns() - last_ns_ >= period_ns_;
}

bool state_file::save(const std::string& text, const char* who) {
  try {
    auto tmp = path_ + ".tmp";
    {
      std::ofstream out{tmp, std::ios::trunc};
      out << text;
      if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
    }
    std::filesystem::rename(tmp, path_);
    last_ns_ = steady_now_ns();
    return true;
  } catch (const std::exception& e) {
    const logger log{who};
    log.error("cannot save state: ", e.what());
    return false;
  }
}

std::optional<std::string> state_file::load() const {
  if (!enabled() || !std::filesystem::exists(path_)) return std::nullopt;
  std::ifstream in{path_};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace weaver
