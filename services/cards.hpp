// Turns the configured cards into card objects (the pool's members), and
// lists the cards a machine has for `weaver cards`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/card.hpp"
#include "services/config.hpp"

namespace weaver {

/// Builds the pool's cards: the configured list, or with `cards: all` one CPU
/// group with every hardware thread plus each XRT device found (when an
/// `xrt.xclbin` is configured). Throws std::runtime_error naming the card.
std::vector<std::shared_ptr<card>> make_cards(const config& cfg);

/// `weaver cards`: what the machine has (CPU groups, XRT devices) and, with a
/// configuration, the configured pool: kind, status and capabilities.
struct cards_report {
  nlohmann::json cards = nlohmann::json::array();
  std::vector<std::string> notes; // e.g. why no XRT device was found
};
cards_report list_cards(const config* cfg);

/// The report as a plain-text table.
std::string format_cards(const cards_report& r);

} // namespace weaver
