// base/base64: the store's features, the int8 model file's weights and TF.js
// string attributes all go through it, so strictness matters in one place.
#include <doctest/doctest.h>

#include "base/base64.hpp"

using namespace weaver;

TEST_CASE("base64 round-trips every length's padding and every byte value") {
  std::vector<int8_t> all;
  for (int v = -128; v < 128; ++v) all.push_back(static_cast<int8_t>(v));
  for (size_t n : {0u, 1u, 2u, 3u, 4u, 255u, 256u}) {
    std::vector<int8_t> in(all.begin(), all.begin() + n);
    auto text = to_base64(in);
    CHECK(text.size() == (n + 2) / 3 * 4);
    auto back = from_base64(text);
    REQUIRE(back);
    CHECK(*back == in);
  }
}

TEST_CASE("base64 decodes the RFC 4648 test vectors to bytes") {
  CHECK(bytes_from_base64("") == std::string());
  CHECK(bytes_from_base64("Zg==") == std::string("f"));
  CHECK(bytes_from_base64("Zm8=") == std::string("fo"));
  CHECK(bytes_from_base64("Zm9v") == std::string("foo"));
  CHECK(bytes_from_base64("Zm9vYmFy") == std::string("foobar"));
  CHECK(bytes_from_base64("U0FNRQ==") == std::string("SAME"));
}

TEST_CASE("base64 refuses damaged text instead of reading part of it") {
  for (const char* bad : {"Zg=", "Zm9", "Zg==Zg==", "Z===", "====", "Zm9v!A==", "U0FNRQ!!", "Zm=v"}) {
    CAPTURE(bad);
    CHECK_FALSE(bytes_from_base64(bad));
    CHECK_FALSE(from_base64(bad));
  }
  CHECK_FALSE(bytes_from_base64(std::string("Zm\0v", 4)));
}
