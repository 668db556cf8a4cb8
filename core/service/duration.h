#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Durations as users write them for services (docker's and compose's): a sequence of
// number+unit, units ms, s, m, h ("500ms", "30s", "2m", "1m30s"); a bare number is seconds.
// Negative values, unknown units and empty text are refused (nullopt): the caller names the
// flag or key in its one-line error.
namespace nucleus::service {

std::optional<int64_t> parse_duration_ms(std::string_view text);

}  // namespace nucleus::service

namespace nucleus::service {

// --since: a duration back from now ("10m") or an RFC 3339 time in UTC
// ("2026-12-06T05:00:00Z", fractions allowed), as the CRI log's own timestamp text, which
// compares as text; nullopt when it is neither.
std::optional<std::string> since_timestamp(std::string_view text);

}  // namespace nucleus::service
