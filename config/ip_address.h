#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// IPv4 and IPv6 addresses and prefixes as values: parsed once from text, compared and
// printed without the C socket structures leaking into the model.
namespace nucleus {

enum class IpFamily : uint8_t { kV4, kV6 };

struct IpAddress {
  IpFamily family = IpFamily::kV4;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4

  size_t size() const noexcept { return family == IpFamily::kV4 ? 4 : 16; }
  int bits() const noexcept { return family == IpFamily::kV4 ? 32 : 128; }
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
  auto operator<=>(const IpAddress&) const = default;
};

// "192.0.2.1" or "2001:db8::1" (no brackets, no zone); nullopt when neither.
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
  IpAddress address;  // the network address: host bits are zero
  int prefix = 0;

  bool contains(const IpAddress& ip) const noexcept;
  bool overlaps(const Cidr& other) const noexcept;
  // The n-th address of the prefix (0 is the network address); nullopt past its end.
  std::optional<IpAddress> nth(uint64_t n) const;
  // How many addresses the prefix holds, saturated at 2^63.
  uint64_t capacity() const noexcept;
  std::string to_string() const;  // "10.0.0.0/8"
  bool operator==(const Cidr&) const = default;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). The problem in words
// (malformed, prefix out of range, host bits set) when it is not one.
struct CidrParse {
  std::optional<Cidr> cidr;
  std::string problem;
};
CidrParse parse_cidr(std::string_view text);

}  // namespace nucleus
