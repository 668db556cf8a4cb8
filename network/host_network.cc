#include "network/host_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <sstream>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"

namespace nucleus::net {
namespace {

constexpr size_t kMaxProcFile = 16 << 20;

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
  std::vector<HostRoute> routes;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    uint32_t d = static_cast<uint32_t>(std::stoul(dest, nullptr, 16));  // network order, as printed
    uint32_t m = static_cast<uint32_t>(std::stoul(mask, nullptr, 16));
    IpAddress ip;
    std::memcpy(ip.bytes.data(), &d, 4);
    routes.push_back({Cidr{ip, prefix_of_mask(ntohl(m))}, iface});
  }
  return routes;
}

std::vector<HostRoute> parse_ipv6_routes(const std::string& text) {
  std::vector<HostRoute> routes;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string dest, prefix, src, src_prefix, next_hop, metric, refcnt, use, flags, iface;
    if (!(fields >> dest >> prefix >> src >> src_prefix >> next_hop >> metric >> refcnt >> use >> flags >> iface)) continue;
    if (dest.size() != 32) continue;
    IpAddress ip{IpFamily::kV6, {}};
    for (size_t i = 0; i < 16; ++i) ip.bytes[i] = static_cast<uint8_t>(std::stoul(dest.substr(2 * i, 2), nullptr, 16));
    routes.push_back({Cidr{ip, static_cast<int>(std::stoul(prefix, nullptr, 16))}, iface});
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

std::vector<UniqueFd> hold_published_ports(const std::vector<PortPublish>& publish) {
  std::vector<UniqueFd> held;
  for (const PortPublish& p : publish) {
    bool v4 = p.host_ip && p.host_ip->family == IpFamily::kV4;
    int type = p.transport == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    UniqueFd fd(::socket(v4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0));
    std::string what = "--publish " + std::to_string(p.host_port) + "/" + std::string(to_string(p.transport));
    if (!fd) throw_errno(what, "socket");
    sockaddr_storage addr{};
    socklen_t len;
    if (v4) {
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
      int v6only = p.host_ip ? 1 : 0;  // no address: both families' wildcard
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
      len = sizeof *a;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      if (errno == EADDRINUSE) throw Error(what, "host port " + std::to_string(p.host_port) + " is already in use");
      throw_errno(what, "bind");
    }
    held.push_back(std::move(fd));
  }
  return held;
}

}  // namespace nucleus::net
