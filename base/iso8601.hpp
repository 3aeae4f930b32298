// ISO-8601 UTC timestamps <-> Weaver's timestamp_ms (ms since the Unix epoch).
#pragma once

#include <optional>
#include <string>

#include "base/types.hpp"

namespace weaver {

/// Parses "2026-11-21T09:00:00Z", "2026-11-21T09:00:00.250Z",
/// "2026-11-21T09:00:00+01:00" and a bare date "2026-11-21" (midnight UTC).
std::optional<timestamp_ms> parse_iso8601(const std::string& text);

/// Formats as "2026-11-21T09:00:00.250Z" (milliseconds always shown).
std::string format_iso8601(timestamp_ms t);

} // namespace weaver
