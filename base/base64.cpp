#include "base/base64.hpp"

#include <cstring>

namespace weaver {

namespace {
constexpr char base64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

} // namespace

std::string to_base64(const std::vector<int8_t>& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= uint32_t(uint8_t(in[i + 2]));
    out += base64_digits[(v >> 18) & 63];
    out += base64_digits[(v >> 12) & 63];
    out += i + 1 < in.size() ? base64_digits[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? base64_digits[v & 63] : '=';
  }
  return out;
}

namespace {

// One decoder for both results: strict (length a multiple of 4, padding only
// at the end), so a damaged input is refused rather than half read.
template <class Out>
std::optional<Out> decode(const std::string& in) {
  Out out;
  if (in.size() % 4 != 0) return std::nullopt;
  out.reserve(in.size() / 4 * 3);
  using byte = typename Out::value_type;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      const char* at = c ? std::strchr(base64_digits, c) : nullptr;
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        ++pad;
        v <<= 6;
      } else if (at && !pad) {
        v = (v << 6) | uint32_t(at - base64_digits);
      } else {
        return std::nullopt;
      }
    }
    out.push_back(static_cast<byte>(uint8_t(v >> 16)));
    if (pad < 2) out.push_back(static_cast<byte>(uint8_t(v >> 8)));
    if (pad < 1) out.push_back(static_cast<byte>(uint8_t(v)));
  }
  return out;
}

} // namespace

std::optional<std::vector<int8_t>> from_base64(const std::string& in) { return decode<std::vector<int8_t>>(in); }

std::optional<std::string> bytes_from_base64(const std::string& in) { return decode<std::string>(in); }

} // namespace weaver
