// The mesh codec on hostile bytes: decode and peek_kind must never throw or
// read out of bounds, and what decode and validate accept must encode again
// into an envelope that decodes to the same kind and still validates.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "schemas/codec.hpp"

using namespace weaver;

namespace {

std::vector<uint8_t> reencode(const codec::message& m) {
  return std::visit([&](const auto& body) { return codec::encode(body, m.sender, m.sequence); }, m.body);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  auto kind = codec::peek_kind(data, size);
  auto m = codec::decode(data, size, &error);
  if (!m) return 0;
  // decode succeeding implies the envelope checks peek_kind makes.
  if (!kind || *kind != m->k) std::abort();
  // The bridges act only on what validate() also accepts (semantic limits:
  // times, ids, boxes); such a message must survive a round trip unchanged
  // in kind, sender and sequence, and still be valid.
  if (codec::validate(*m)) return 0;
  auto again = reencode(*m);
  auto m2 = codec::decode(again.data(), again.size(), &error);
  if (!m2 || m2->k != m->k || m2->sequence != m->sequence || m2->sender != m->sender) std::abort();
  if (codec::validate(*m2)) std::abort();
  return 0;
}
