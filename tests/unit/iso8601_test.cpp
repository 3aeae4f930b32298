#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/iso8601.hpp"

using namespace weaver;

// Expected values below were computed independently (GNU `date -u -d ... +%s`).

TEST_SUITE("iso8601") {
  TEST_CASE("known instants parse to their epoch milliseconds") {
    CHECK(parse_iso8601("1970-01-01T00:00:00Z") == timestamp_ms{0});
    CHECK(parse_iso8601("2026-11-21T09:00:00Z") == timestamp_ms{1795251600000});
    CHECK(parse_iso8601("2000-01-01T00:00:00Z") == timestamp_ms{946684800000});
    CHECK(parse_iso8601("1969-07-20T20:17:40Z") == timestamp_ms{-14182940000});
    CHECK(parse_iso8601("1900-01-01T00:00:00Z") == timestamp_ms{-2208988800000});
    CHECK(parse_iso8601("9999-12-31T23:59:59Z") == timestamp_ms{253402300799000});
    // A space instead of 'T' is accepted too.
    CHECK(parse_iso8601("2026-11-21 09:00:00Z") == timestamp_ms{1795251600000});
  }

  TEST_CASE("fractional seconds are milliseconds") {
    CHECK(parse_iso8601("2026-11-21T09:00:00.250Z") == timestamp_ms{1795251600250});
    CHECK(parse_iso8601("2026-11-21T09:00:00.5Z") == timestamp_ms{1795251600500});
    CHECK(parse_iso8601("2026-11-21T09:00:00.05Z") == timestamp_ms{1795251600050});
    CHECK(parse_iso8601("2026-11-21T09:00:00.999Z") == timestamp_ms{1795251600999});
    CHECK(parse_iso8601("1970-01-01T00:00:00.001Z") == timestamp_ms{1});
    // Digits beyond milliseconds are truncated, not rounded.
    CHECK(parse_iso8601("2026-11-21T09:00:00.2509Z") == timestamp_ms{1795251600250});
    CHECK(parse_iso8601("1969-12-31T23:59:59.999Z") == timestamp_ms{-1});
  }

  TEST_CASE("zone offsets are subtracted to give UTC") {
    // 09:00 at +01:00 is 08:00 UTC.
    CHECK(parse_iso8601("2026-11-21T09:00:00+01:00") == timestamp_ms{1795248000000});
    CHECK(parse_iso8601("2026-11-21T10:00:00+01:00") == parse_iso8601("2026-11-21T09:00:00Z"));
    CHECK(parse_iso8601("2026-11-21T08:00:00-01:00") == parse_iso8601("2026-11-21T09:00:00Z"));
    CHECK(parse_iso8601("2026-11-21T14:30:00+05:30") == parse_iso8601("2026-11-21T09:00:00Z"));
    CHECK(parse_iso8601("2026-11-21T09:00:00+00:00") == parse_iso8601("2026-11-21T09:00:00Z"));
    // An offset can cross midnight.
    CHECK(parse_iso8601("2026-11-21T00:30:00+01:00") == parse_iso8601("2026-11-20T23:30:00Z"));
    CHECK(parse_iso8601("2026-11-21T09:00:00.250+01:00") == timestamp_ms{1795248000250});
  }

  TEST_CASE("bare dates are midnight UTC") {
    CHECK(parse_iso8601("1970-01-01") == timestamp_ms{0});
    CHECK(parse_iso8601("2026-11-21") == timestamp_ms{1795219200000});
    CHECK(parse_iso8601("2026-11-21") == parse_iso8601("2026-11-21T00:00:00Z"));
  }

  TEST_CASE("dates that do not exist are rejected") {
    CHECK_FALSE(parse_iso8601("2026-02-30"));
    CHECK_FALSE(parse_iso8601("2026-02-31T00:00:00Z"));
    CHECK_FALSE(parse_iso8601("2025-02-29"));
    CHECK_FALSE(parse_iso8601("2026-04-31"));
    CHECK_FALSE(parse_iso8601("2100-02-29"));
    CHECK(parse_iso8601("2000-02-29"));
  }

  TEST_CASE("leap day") {
    CHECK(parse_iso8601("2024-02-29T00:00:00Z") == timestamp_ms{1709164800000});
    CHECK(parse_iso8601("2024-02-29") == timestamp_ms{1709164800000});
    CHECK(parse_iso8601("2024-02-29T23:59:59Z") == timestamp_ms{1709251199000});
    CHECK(parse_iso8601("2024-03-01") == timestamp_ms{1709251200000});
    CHECK(format_iso8601(1709164800000) == "2024-02-29T00:00:00.000Z");
    CHECK(format_iso8601(1709251199999) == "2024-02-29T23:59:59.999Z");
  }

  TEST_CASE("malformed text is rejected") {
    const std::vector<std::string> bad{
      "",
      "garbage",
      "2026",
      "2026-11",
      "2026/11/21",
      "20261121",
      "2026-13-01", // month 13
      "2026-00-10", // month 0
      "2026-11-00", // day 0
      "2026-11-32", // day 32
      "2026-11-21T09:00:00", // a time without a zone
      "2026-11-21T09:00:00.250", // ditto with a fraction
      "2026-11-21T09:00Z", // no seconds
      "2026-11-21T25:00:00Z", // hour 25
      "2026-11-21T09:60:00Z", // minute 60
      "2026-11-21T09:00:00Zjunk", // trailing junk after the zone
      "2026-11-21T09:00:00Z ", // trailing space
      "2026-11-21T09:00:00+01:00x", // trailing junk after an offset
      "2026-11-21T09:00:00+0100", // offset without a colon
      "2026-11-21T09:00:00+1:00", // short offset
      "2026-11-21T09:00:00Q", // unknown zone designator
      "2026-11-21x", // junk after a bare date
      "2026-11-21T", // a 'T' and nothing
      "2026-1a-21",
      " 2026-11-21",
    };
    for (auto& s : bad) {
      CAPTURE(s);
      CHECK_FALSE(parse_iso8601(s).has_value());
    }
  }

  TEST_CASE("format shows milliseconds and Z") {
    CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000Z");
    CHECK(format_iso8601(1795251600250) == "2026-11-21T09:00:00.250Z");
    CHECK(format_iso8601(1795251600000) == "2026-11-21T09:00:00.000Z");
    CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
    CHECK(format_iso8601(-1000) == "1969-12-31T23:59:59.000Z");
    CHECK(format_iso8601(-1001) == "1969-12-31T23:59:58.999Z");
    CHECK(format_iso8601(-14182940000) == "1969-07-20T20:17:40.000Z");
    CHECK(format_iso8601(253402300799999) == "9999-12-31T23:59:59.999Z");
  }

  TEST_CASE("format then parse round-trips, including negative times") {
    std::vector<timestamp_ms> values{
      0,     1,        -1,        999,       -999,          1000,          -1000,          1001,
      -1001, 86399999, -86400000, -86400001, 1709164800000, 1795251600250, -2208988800000, 253402300799999};
    // A spread over roughly -150 .. +250 years with varied milliseconds.
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2000; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      int64_t span = int64_t{400} * 365 * 86400 * 1000;
      values.push_back(static_cast<int64_t>(x % static_cast<uint64_t>(span)) - span * 3 / 8);
    }
    for (int64_t t = -5000; t <= 5000; t += 7) values.push_back(t);
    for (auto t : values) {
      auto text = format_iso8601(t);
      CAPTURE(t);
      CAPTURE(text);
      auto back = parse_iso8601(text);
      REQUIRE(back.has_value());
      CHECK(*back == t);
    }
  }

} // TEST_SUITE
