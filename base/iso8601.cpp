#include "base/iso8601.hpp"

#include <cstdio>
#include <ctime>

namespace weaver {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// well-known civil calendar arithmetic; avoids timegm's locale/TZ state).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(const std::string& s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

} // namespace

std::optional<timestamp_ms> parse_iso8601(const std::string& s) {
  int y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  static const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1) return std::nullopt;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > days_in[mo - 1] + (mo == 2 && leap ? 1 : 0)) return std::nullopt; // no 2026-02-30

  size_t pos = 10;
  int64_t offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
    if (!digits(s, pos + 1, 2, h) || s.size() < pos + 9 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, mi)
        || s[pos + 6] != ':' || !digits(s, pos + 7, 2, se))
      return std::nullopt;
    if (h > 23 || mi > 59 || se > 60) return std::nullopt;
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int scale = 100;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        ms += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
    }
    if (pos == s.size()) return std::nullopt; // a zone is required with a time
    if (s[pos] == 'Z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (!digits(s, pos + 1, 2, oh) || s.size() < pos + 6 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om))
        return std::nullopt;
      offset_min = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
      pos += 6;
    } else {
      return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
  }
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
  return secs * 1000 + ms;
}

std::string format_iso8601(timestamp_ms t) {
  int64_t secs = t >= 0 ? t / 1000 : (t - 999) / 1000;
  int ms = static_cast<int>(t - secs * 1000);
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

} // namespace weaver
