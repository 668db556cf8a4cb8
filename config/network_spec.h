#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/ip_address.h"

// The network a bridge container asks for (`--network bridge`, issue 16): published ports,
// the egress allow-list and the bridge's subnets. Parsed and validated once, here; the
// network subsystem (network/) reads only this. Plain data, no I/O.
namespace nucleus {

enum class Transport : uint8_t { kTcp, kUdp };
std::string_view to_string(Transport transport);

// `-p [IP:]HOST:CONTAINER[/tcp|udp]`, `-p [IP::]CONTAINER[/tcp|udp]`
struct PortPublish {
  std::optional<IpAddress> host_ip;  // absent: every address of the host
  uint16_t host_port = 0;            // 0: a free one, chosen when the network is attached
  uint16_t container_port = 0;
  Transport transport = Transport::kTcp;
  bool operator==(const PortPublish&) const = default;
};

// `--egress-allow CIDR|NAME|*.NAME[:PORT]`. A port applies to TCP and UDP; no port: every
// protocol (ICMP included) to that destination.
struct EgressRule {
  enum class Kind : uint8_t { kCidr, kName, kWildcard };
  Kind kind = Kind::kCidr;
  Cidr cidr;           // kCidr
  std::string name;    // kName: "pypi.org"; kWildcard: the suffix "example.com" of "*.example.com"
  std::optional<uint16_t> port;
  bool operator==(const EgressRule&) const = default;
};

// Chosen to collide with nothing common (docker 172.17/16, podman 10.88/16, libvirt
// 192.168.122/24, CGNAT 100.64/10); both configurable (docs/networking.md).
inline constexpr std::string_view kDefaultSubnet4 = "10.231.0.0/16";
inline constexpr std::string_view kDefaultSubnet6 = "fd6e:7563:6c65::/64";
inline constexpr std::string_view kDefaultBridge = "nucleus0";

// `--add-host NAME:IP` (YAML `extra_hosts:`, Docker's): a line of the container's
// /etc/hosts. No address: Docker's `host-gateway`, the bridge's gateway once leased.
struct ExtraHost {
  std::string name;
  std::optional<IpAddress> address;
  bool operator==(const ExtraHost&) const = default;
};

struct NetworkRequest {
  std::string bridge{kDefaultBridge};
  Cidr subnet4 = *parse_cidr(kDefaultSubnet4).cidr;
  Cidr subnet6 = *parse_cidr(kDefaultSubnet6).cidr;
  std::vector<PortPublish> publish;
  std::vector<EgressRule> egress;
  // Deny everything not allowed even without a rule (`untrusted` with `bridge`).
  bool default_deny = false;
  // Where the DNS forwarder sends allowed questions; empty: the host's /etc/resolv.conf.
  std::vector<IpAddress> resolvers;
  std::string hostname = "nucleus";
  std::vector<ExtraHost> extra_hosts;

  bool enforces_policy() const { return default_deny || !egress.empty(); }
};

// ---- textual forms (flags and YAML); throw Error(what, problem) ----------------------------
PortPublish parse_publish(std::string_view text, const std::string& what);
// What parse_publish reads back: "[IP:]HOST:CONTAINER/tcp|udp" (an IPv6 address in brackets).
std::string to_string(const PortPublish& publish);
EgressRule parse_egress_rule(std::string_view text, const std::string& what);
// "NAME:IP" or "NAME=IP" (an IPv6 address bare or in brackets), or NAME:host-gateway.
ExtraHost parse_extra_host(std::string_view text, const std::string& what);
std::string to_string(const ExtraHost& host);  // what parse_extra_host reads back
Cidr parse_subnet(std::string_view text, IpFamily family, const std::string& what);
std::string to_string(const EgressRule& rule);
// A DNS name as the forwarder compares it: lower case, no trailing dot; nullopt when it is
// not a valid host name (labels of letters, digits and '-', at most 253 characters).
std::optional<std::string> normalize_dns_name(std::string_view name);

// A route of the host: its destination and device (/proc/net/route, /proc/net/ipv6_route).
struct HostRoute {
  Cidr destination;
  std::string device;
};

// Cross-field checks, in order, throwing on the first: subnet sizes, a subnet overlapping a
// host route (except the bridge's own), a published host port listed twice, the number of
// rules and of --add-host lines. `routes` come from read_host_routes() (network/host_routes.h) or a test.
void validate_network_request(const NetworkRequest& request, const std::vector<HostRoute>& routes);

inline constexpr size_t kMaxEgressRules = 100000;
// Lines of --add-host: the /etc files live on a 64 KiB tmpfs (backends/native/native_network.cc).
inline constexpr size_t kMaxExtraHosts = 128;

}  // namespace nucleus
