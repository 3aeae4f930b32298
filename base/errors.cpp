#include "base/errors.hpp"

#include <caf/message.hpp>

namespace weaver {

std::string to_string(errc x) {
  switch (x) {
    case errc::frame_dropped:
      return "frame_dropped";
    case errc::card_failed:
      return "card_failed";
    case errc::store_failed:
      return "store_failed";
    case errc::bad_reply:
      return "bad_reply";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_error(errc x) { return {static_cast<uint8_t>(x), error_category}; }

caf::error make_error(errc x, std::string context) {
  return {static_cast<uint8_t>(x), error_category, caf::make_message(std::move(context))};
}

// The renderer form: CAF 0.17's add_error_category<T> does not compile.
void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value, const caf::message& context) {
    std::string text = "weaver: " + to_string(static_cast<errc>(code));
    if (context.size() == 1 && context.match_element<std::string>(0))
      text += " (" + context.get_as<std::string>(0) + ")";
    else if (!context.empty())
      text += " " + to_string(context);
    return text;
  });
}

} // namespace weaver
