// Standard base64 (RFC 4648, with '=' padding): how the store keeps tracklet
// features, the int8 model file keeps weights and TF.js writes strings.
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
/// The same, decoded to bytes in a string.
std::optional<std::string> bytes_from_base64(const std::string& in);

} // namespace weaver
