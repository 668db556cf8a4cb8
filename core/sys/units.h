#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Sizes and counts as users write them. Parsers return nullopt on anything malformed or
// out of range (the caller names the field in its error).
namespace nucleus {

// "512", "64K", "64M", "1G", "2T" (optionally "MB"/"MiB"; case-insensitive; powers of 1024).
// Rejects signs, fractions, overflow and empty text.
std::optional<uint64_t> parse_size(std::string_view text);

// "0.5", "2": finite, > 0, <= 1024.
std::optional<double> parse_cpus(std::string_view text);

// A decimal integer in [min, max].
std::optional<int64_t> parse_integer(std::string_view text, int64_t min, int64_t max);

// "64MiB", "1GiB", "512B".
std::string format_size(uint64_t bytes);

}  // namespace nucleus
