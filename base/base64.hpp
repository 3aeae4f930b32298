// Standard base64 (RFC 4648, with '=' padding) for int8 vectors: how the
// store keeps tracklet features and the int8 model file keeps weights.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weaver {

std::string to_base64(const std::vector<int8_t>& in);
/// nullopt when `in` is not base64 (wrong length, a foreign character, or
/// anything after the padding).
std::optional<std::vector<int8_t>> from_base64(const std::string& in);

} // namespace weaver
