// The configuration loader on hostile YAML: any input either parses or is
// refused with a config_error naming the key; nothing else may escape
// (a YAML or conversion exception, a crash, a read past a sequence's end).
#include <cstdint>
#include <string>

#include "services/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto cfg = weaver::parse_config(text, "/nonexistent-fuzz-dir", "fuzz.yaml");
    (void)weaver::detector_options_of(cfg.detector);
  } catch (const weaver::config_error&) {}
  return 0;
}
