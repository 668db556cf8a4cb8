#include "core/service/duration.h"

#include <cctype>
#include <limits>
#include <string>

namespace nucleus::service {
namespace {

// Milliseconds per unit; longer names first so "ms" is not read as "m".
constexpr struct {
  std::string_view name;
  int64_t ms;
} kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 9) return std::nullopt;
    return std::stoll(std::string(text)) * 1000;
  }
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == i || digits - i > 9) return std::nullopt;  // no number (a '-' too), or absurd
    int64_t value = std::stoll(std::string(text.substr(i, digits - i)));
    size_t unit_end = digits;
    while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end]))) ++unit_end;
    std::string_view unit = text.substr(digits, unit_end - digits);
    int64_t scale = 0;
    for (const auto& u : kUnits) {
      if (u.name == unit) scale = u.ms;
    }
    if (scale == 0) return std::nullopt;
    total += value * scale;
    i = unit_end;
  }
  return total;
}

}  // namespace nucleus::service

#include <time.h>

#include "core/sys/rfc3339.h"

namespace nucleus::service {

std::optional<std::string> since_timestamp(std::string_view text) {
  if (auto ms = parse_duration_ms(text)) {
    timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    int64_t total_ns = static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec - *ms * 1'000'000;
    timespec then{static_cast<time_t>(total_ns / 1'000'000'000), static_cast<long>(total_ns % 1'000'000'000)};
    return rfc3339(then);
  }
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (text.size() < 20 || text.back() != 'Z' || text[10] != 'T') return std::nullopt;
  std::string_view seconds = text.substr(0, 19);
  std::string_view fraction = text.substr(19, text.size() - 20);
  for (size_t i = 0; i < seconds.size(); ++i) {
    bool separator = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
    if (separator ? seconds[i] != "--T::"[(i == 4 ? 0 : i == 7 ? 1 : i == 10 ? 2 : i == 13 ? 3 : 4)]
                  : !std::isdigit(static_cast<unsigned char>(seconds[i]))) {
      return std::nullopt;
    }
  }
  std::string digits;
  if (!fraction.empty()) {
    if (fraction[0] != '.' || fraction.size() > 10 || fraction.size() < 2) return std::nullopt;
    digits = fraction.substr(1);
    if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  }
  digits.resize(9, '0');
  return std::string(seconds) + "." + digits + "Z";
}

}  // namespace nucleus::service
