#include "config/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace nucleus {
namespace {

bool bit_at(const IpAddress& ip, int i) { return (ip.bytes[i / 8] >> (7 - i % 8)) & 1; }

bool same_prefix(const IpAddress& a, const IpAddress& b, int prefix) {
  if (a.family != b.family) return false;
  for (int i = 0; i < prefix; ++i) {
    if (bit_at(a, i) != bit_at(b, i)) return false;
  }
  return true;
}

}  // namespace

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family == IpFamily::kV4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string copy(text);
  IpAddress ip;
  if (::inet_pton(AF_INET, copy.c_str(), ip.bytes.data()) == 1) return ip;
  ip.family = IpFamily::kV6;
  if (::inet_pton(AF_INET6, copy.c_str(), ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

bool Cidr::contains(const IpAddress& ip) const noexcept { return same_prefix(address, ip, prefix); }

bool Cidr::overlaps(const Cidr& other) const noexcept {
  return same_prefix(address, other.address, std::min(prefix, other.prefix));
}

uint64_t Cidr::capacity() const noexcept {
  int host_bits = address.bits() - prefix;
  return host_bits >= 63 ? (1ull << 63) : (1ull << host_bits);
}

std::optional<IpAddress> Cidr::nth(uint64_t n) const {
  if (n >= capacity()) return std::nullopt;
  IpAddress ip = address;
  for (int i = static_cast<int>(ip.size()) - 1; i >= 0 && n != 0; --i) {
    uint64_t sum = ip.bytes[i] + (n & 0xff);
    ip.bytes[i] = static_cast<uint8_t>(sum);
    n = (n >> 8) + (sum >> 8);
  }
  return ip;
}

std::string Cidr::to_string() const { return address.to_string() + "/" + std::to_string(prefix); }

CidrParse parse_cidr(std::string_view text) {
  size_t slash = text.find('/');
  std::optional<IpAddress> ip = parse_ip(text.substr(0, slash));
  if (!ip) return {std::nullopt, "malformed address '" + std::string(text.substr(0, slash)) + "'"};
  Cidr cidr{*ip, ip->bits()};
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), cidr.prefix);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || cidr.prefix < 0 ||
        cidr.prefix > ip->bits()) {
      return {std::nullopt, "prefix length '" + std::string(bits) + "' is not 0-" + std::to_string(ip->bits())};
    }
  }
  IpAddress network = *ip;
  for (int i = cidr.prefix; i < ip->bits(); ++i) network.bytes[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
  if (network != *ip) {
    return {std::nullopt, "host bits set in '" + std::string(text) + "' (the network is " +
                              network.to_string() + "/" + std::to_string(cidr.prefix) + ")"};
  }
  return {cidr, {}};
}

}  // namespace nucleus
