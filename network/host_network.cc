#include "network/host_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <sstream>
#include <string_view>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"

namespace nucleus::net {
namespace {

constexpr size_t kMaxProcFile = 16 << 20;

// The text up to the next newline (which is consumed), from `rest`.
std::string_view next_line(std::string_view& rest) {
  size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  return line;
}

// The first N whitespace-separated fields of `line`; false when it has fewer. (Read on
// every bridge start: no stream or locale per line.)
template <size_t N>
bool split_fields(std::string_view line, std::array<std::string_view, N>& fields) {
  for (std::string_view& field : fields) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) return false;
    line.remove_prefix(start);
    size_t end = std::min(line.find_first_of(" \t"), line.size());
    field = line.substr(0, end);
    line.remove_prefix(end);
  }
  return true;
}

std::optional<uint32_t> hex_number(std::string_view text) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int prefix_of_mask(uint32_t mask_host_order) {
  int n = 0;
  while (mask_host_order & 0x80000000u) {
    ++n;
    mask_host_order <<= 1;
  }
  return n;
}

}  // namespace

std::vector<HostRoute> parse_ipv4_routes(const std::string& text) {
  // Iface Destination Gateway Flags RefCnt Use Metric Mask ...: a header, then a line each.
  std::vector<HostRoute> routes;
  std::string_view rest = text;
  next_line(rest);  // the header
  while (!rest.empty()) {
    std::array<std::string_view, 8> f;
    if (!split_fields(next_line(rest), f)) continue;
    std::optional<uint32_t> d = hex_number(f[1]), m = hex_number(f[7]);  // network order, as printed
    if (!d || !m) continue;
    IpAddress ip;
    std::memcpy(ip.bytes.data(), &*d, 4);
    routes.push_back({Cidr{ip, prefix_of_mask(ntohl(*m))}, std::string(f[0])});
  }
  return routes;
}

std::vector<HostRoute> parse_ipv6_routes(const std::string& text) {
  // Destination Prefix Source SourcePrefix NextHop Metric RefCnt Use Flags Iface.
  std::vector<HostRoute> routes;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::array<std::string_view, 10> f;
    if (!split_fields(next_line(rest), f) || f[0].size() != 32) continue;
    IpAddress ip{IpFamily::kV6, {}};
    bool valid = true;
    for (size_t i = 0; i < 16 && valid; ++i) {
      std::optional<uint32_t> byte = hex_number(f[0].substr(2 * i, 2));
      valid = byte.has_value();
      ip.bytes[i] = static_cast<uint8_t>(byte.value_or(0));
    }
    std::optional<uint32_t> prefix = hex_number(f[1]);
    if (!valid || !prefix) continue;
    routes.push_back({Cidr{ip, static_cast<int>(*prefix)}, std::string(f[9])});
  }
  return routes;
}

std::vector<HostRoute> read_host_routes() {
  std::vector<HostRoute> routes = parse_ipv4_routes(sys::read_file("/proc/net/route", kMaxProcFile, "read the host's routes"));
  try {
    std::vector<HostRoute> v6 = parse_ipv6_routes(sys::read_file("/proc/net/ipv6_route", kMaxProcFile, "read the host's routes"));
    routes.insert(routes.end(), v6.begin(), v6.end());
  } catch (const Error&) {
    // IPv6 disabled: no IPv6 routes to collide with.
  }
  return routes;
}

std::string bridge_configuration(const NetworkRequest& request) {
  return request.bridge + " " + request.subnet4.to_string() + " " + request.subnet6.to_string();
}

std::string recorded_bridge_configuration(const std::string& state_dir) {
  try {
    return sys::read_file_if_present(state_dir + "/base", 4096, "read " + state_dir + "/base").value_or("");
  } catch (const Error&) {
    return "";
  }
}

bool records_bridge_configuration(const std::string& state_dir, const NetworkRequest& request) {
  return recorded_bridge_configuration(state_dir) == bridge_configuration(request);
}

std::vector<IpAddress> parse_resolvers(const std::string& text) {
  std::vector<IpAddress> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, value;
    if (!(fields >> key >> value) || key != "nameserver") continue;
    if (size_t percent = value.find('%'); percent != std::string::npos) value.resize(percent);  // a zone
    if (std::optional<IpAddress> ip = parse_ip(value)) out.push_back(*ip);
  }
  return out;
}

std::vector<IpAddress> read_resolvers(const std::string& path) {
  return parse_resolvers(sys::read_file(path, 1 << 20, "read the host's resolvers"));
}

namespace {

// A port no socket of the host holds on any address, for a transport: the kernel's choice
// for a wildcard (IPv4 and IPv6) socket, which it checks against every address.
uint16_t free_port_everywhere(int type, const std::string& what) {
  UniqueFd probe(::socket(AF_INET6, type | SOCK_CLOEXEC, 0));
  if (!probe) throw_errno(what, "socket");
  int v6only = 0;
  if (::setsockopt(probe.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0) throw_errno(what, "IPV6_V6ONLY");
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  socklen_t len = sizeof any;
  if (::bind(probe.get(), reinterpret_cast<sockaddr*>(&any), len) != 0) {
    if (errno == EADDRINUSE) throw Error(what, "no free host port");
    throw_errno(what, "bind");
  }
  if (::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&any), &len) != 0) throw_errno(what, "getsockname");
  return ntohs(any.sin6_port);
}

// Binds fd (of p's family) to p's address, or the wildcard, at p.host_port.
int bind_published(int fd, const PortPublish& p) {
  sockaddr_storage addr{};
  socklen_t len;
  if (p.host_ip && p.host_ip->family == IpFamily::kV4) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(p.host_port);
    std::memcpy(&a->sin_addr, p.host_ip->bytes.data(), 4);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(p.host_port);
    if (p.host_ip) std::memcpy(&a->sin6_addr, p.host_ip->bytes.data(), 16);
    len = sizeof *a;
  }
  return ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
}

}  // namespace

std::vector<UniqueFd> hold_published_ports(std::vector<PortPublish>& publish) {
  std::vector<UniqueFd> held;
  for (PortPublish& p : publish) {
    bool v4 = p.host_ip && p.host_ip->family == IpFamily::kV4;
    int type = p.transport == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    UniqueFd fd(::socket(v4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0));
    std::string what = "--publish " + (p.host_port != 0 ? std::to_string(p.host_port) : std::to_string(p.container_port)) +
                       "/" + std::string(to_string(p.transport));
    if (!fd) throw_errno(what, "socket");
    if (!v4) {
      int v6only = p.host_ip ? 1 : 0;  // no address: both families' wildcard
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    // A port of the kernel's choice on one address may be held on another (the kernel
    // checks only the address asked for), and the DNAT map is keyed by port alone: the
    // port is chosen free on every address first, then bound where it was asked (chosen
    // again if another program took it in between).
    const bool chosen = p.host_port == 0;
    int rc = -1;
    for (int attempt = 0; attempt < (chosen ? 5 : 1); ++attempt) {
      if (chosen) p.host_port = free_port_everywhere(type, what);
      if ((rc = bind_published(fd.get(), p)) == 0 || errno != EADDRINUSE) break;
    }
    if (rc != 0) {
      if (errno == EADDRINUSE && chosen) throw Error(what, "no free host port");
      if (errno == EADDRINUSE) throw Error(what, "host port " + std::to_string(p.host_port) + " is already in use");
      throw_errno(what, "bind");
    }
    held.push_back(std::move(fd));
  }
  return held;
}

}  // namespace nucleus::net
