#include "config/network_spec.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include "core/sys/error.h"

namespace nucleus {
namespace {

// A decimal port 1-65535; nullopt for anything else.
std::optional<uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

uint16_t require_port(std::string_view text, std::string_view role, const std::string& what) {
  std::optional<uint16_t> port = parse_port(text);
  if (!port) throw Error(what, std::string(role) + " port '" + std::string(text) + "' is not 1-65535");
  return *port;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// "[2001:db8::/32]:443" -> ("2001:db8::/32", "443"); "a.b:80" -> ("a.b", "80");
// "2001:db8::/32" (more than one colon, no brackets) -> the whole text, no port.
std::pair<std::string_view, std::optional<std::string_view>> split_port(std::string_view text,
                                                                         const std::string& what) {
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) throw Error(what, "'" + std::string(text) + "' has no closing ']'");
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return {text.substr(1, close - 1), std::nullopt};
    if (rest[0] != ':') throw Error(what, "expected ':PORT' after ']' in '" + std::string(text) + "'");
    return {text.substr(1, close - 1), rest.substr(1)};
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find(':') != colon) return {text, std::nullopt};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

// Link-local and multicast routes exist on every IPv6 interface and never collide with a
// bridge subnet that is itself neither.
bool is_link_scope(const Cidr& route) {
  static const Cidr kLinkLocal = *parse_cidr("fe80::/10").cidr;
  static const Cidr kMulticast = *parse_cidr("ff00::/8").cidr;
  return kLinkLocal.contains(route.address) || kMulticast.contains(route.address);
}

}  // namespace

std::string_view to_string(Transport transport) { return transport == Transport::kTcp ? "tcp" : "udp"; }

std::string to_string(const PortPublish& p) {
  std::string host = !p.host_ip ? ""
                     : p.host_ip->family == IpFamily::kV6 ? "[" + p.host_ip->to_string() + "]:"
                                                          : p.host_ip->to_string() + ":";
  // A host port still to be chosen reads back as Docker writes it: CONTAINER, IP::CONTAINER.
  if (p.host_port != 0) host += std::to_string(p.host_port);
  if (!host.empty()) host += ":";
  return host + std::to_string(p.container_port) + "/" + std::string(to_string(p.transport));
}

std::optional<std::string> normalize_dns_name(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  size_t label = 0;
  for (char c : name) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (c == '.') {
      if (label == 0 || out.back() == '-') return std::nullopt;
      label = 0;
    } else {
      if (!is_label_char(c) || (label == 0 && c == '-') || ++label > 63) return std::nullopt;
    }
    out += c;
  }
  if (out.back() == '-') return std::nullopt;
  // An all-digit last label is a mistyped address ("10.0.0.300"), not a name.
  std::string_view last = std::string_view(out).substr(out.rfind('.') == std::string::npos ? 0 : out.rfind('.') + 1);
  if (std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return out;
}

PortPublish parse_publish(std::string_view text, const std::string& what) {
  PortPublish p;
  std::string_view spec = text;
  if (size_t slash = spec.rfind('/'); slash != std::string_view::npos) {
    std::string_view proto = spec.substr(slash + 1);
    if (proto == "udp") {
      p.transport = Transport::kUdp;
    } else if (proto != "tcp") {
      throw Error(what, "protocol '" + std::string(proto) + "' is not tcp or udp");
    }
    spec = spec.substr(0, slash);
  }
  if (spec.starts_with('[')) {  // [IPv6]:HOST:CONTAINER
    size_t close = spec.find(']');
    if (close == std::string_view::npos || spec.substr(close + 1, 1) != ":") {
      throw Error(what, "'" + std::string(text) + "' is not [IP]:HOST:CONTAINER");
    }
    p.host_ip = parse_ip(spec.substr(1, close - 1));
    if (!p.host_ip || p.host_ip->family != IpFamily::kV6) {
      throw Error(what, "malformed IPv6 address '" + std::string(spec.substr(1, close - 1)) + "'");
    }
    spec = spec.substr(close + 2);
  }
  size_t last = spec.rfind(':');
  if (last == std::string_view::npos) {  // CONTAINER alone: a host port of the kernel's choice, as Docker's
    if (p.host_ip) throw Error(what, "'" + std::string(text) + "' is not [IP]:HOST:CONTAINER");
    p.container_port = require_port(spec, "container", what);
    return p;
  }
  p.container_port = require_port(spec.substr(last + 1), "container", what);
  std::string_view head = spec.substr(0, last);
  if (size_t colon = head.rfind(':'); colon != std::string_view::npos) {
    if (p.host_ip) throw Error(what, "'" + std::string(text) + "' is not [IP:]HOST:CONTAINER[/tcp|udp]");
    p.host_ip = parse_ip(head.substr(0, colon));
    if (!p.host_ip || p.host_ip->family != IpFamily::kV4) {
      throw Error(what, "malformed IPv4 address '" + std::string(head.substr(0, colon)) + "' (IPv6: [ADDR]:HOST:CONTAINER)");
    }
    head = head.substr(colon + 1);
  }
  if (!head.empty()) p.host_port = require_port(head, "host", what);  // IP::CONTAINER: any free port of IP
  return p;
}

ExtraHost parse_extra_host(std::string_view text, const std::string& what) {
  size_t split = text.find_first_of(":=");
  if (split == std::string_view::npos) throw Error(what, "'" + std::string(text) + "' is not NAME:IP");
  ExtraHost host;
  // As given, as Docker writes it (musl compares /etc/hosts names case-sensitively; '_'
  // is common in compose files): only what would break the file's lines is refused.
  host.name = std::string(text.substr(0, split));
  const bool breaks_line = std::any_of(host.name.begin(), host.name.end(), [](unsigned char c) {
    return c <= ' ' || c == '#' || c == 0x7f;
  });
  if (host.name.empty() || host.name.size() > 253 || breaks_line) {
    throw Error(what, "'" + host.name + "' is not a host name");
  }
  std::string_view address = text.substr(split + 1);
  if (address == "host-gateway") return host;
  if (address.starts_with('[') && address.ends_with(']')) address = address.substr(1, address.size() - 2);
  host.address = parse_ip(address);
  if (!host.address) throw Error(what, "'" + std::string(text.substr(split + 1)) + "' is not an IP address or host-gateway");
  return host;
}

std::string to_string(const ExtraHost& host) {
  return host.name + ":" + (host.address ? host.address->to_string() : std::string("host-gateway"));
}

EgressRule parse_egress_rule(std::string_view text, const std::string& what) {
  auto [target, port_text] = split_port(text, what);
  EgressRule rule;
  if (port_text) rule.port = require_port(*port_text, "egress", what);
  if (target.empty()) throw Error(what, "empty egress rule");
  bool looks_numeric = target.find(':') != std::string_view::npos || target.find('/') != std::string_view::npos ||
                       std::all_of(target.begin(), target.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (looks_numeric) {
    CidrParse parsed = parse_cidr(target);
    if (!parsed.cidr) throw Error(what, "malformed CIDR '" + std::string(target) + "': " + parsed.problem);
    rule.cidr = *parsed.cidr;
    return rule;
  }
  rule.kind = EgressRule::Kind::kName;
  if (target.starts_with("*.")) {
    rule.kind = EgressRule::Kind::kWildcard;
    target.remove_prefix(2);
  }
  if (target.find('*') != std::string_view::npos) {
    throw Error(what, "'" + std::string(text) + "': a wildcard is allowed only as the whole first label (*.example.com)");
  }
  std::optional<std::string> name = normalize_dns_name(target);
  if (!name) throw Error(what, "'" + std::string(text) + "' is neither a CIDR nor a valid host name");
  rule.name = *name;
  return rule;
}

std::string to_string(const EgressRule& rule) {
  std::string target = rule.kind == EgressRule::Kind::kCidr       ? rule.cidr.to_string()
                       : rule.kind == EgressRule::Kind::kWildcard ? "*." + rule.name
                                                                  : rule.name;
  if (!rule.port) return target;
  if (rule.kind == EgressRule::Kind::kCidr && rule.cidr.address.family == IpFamily::kV6) target = "[" + target + "]";
  return target + ":" + std::to_string(*rule.port);
}

Cidr parse_subnet(std::string_view text, IpFamily family, const std::string& what) {
  CidrParse parsed = parse_cidr(text);
  if (!parsed.cidr) throw Error(what, "malformed CIDR '" + std::string(text) + "': " + parsed.problem);
  if (parsed.cidr->address.family != family) {
    throw Error(what, "'" + std::string(text) + "' is not an " + (family == IpFamily::kV4 ? "IPv4" : "IPv6") + " subnet");
  }
  return *parsed.cidr;
}

void validate_network_request(const NetworkRequest& request, const std::vector<HostRoute>& routes) {
  // Room for the network address, the gateway, one container and (v4) the broadcast.
  if (request.subnet4.prefix > 29) throw Error("bridge subnet " + request.subnet4.to_string(), "an IPv4 subnet needs a prefix of /29 or shorter");
  if (request.subnet6.prefix > 120) throw Error("bridge subnet " + request.subnet6.to_string(), "an IPv6 subnet needs a prefix of /120 or shorter");
  for (const Cidr* subnet : {&request.subnet4, &request.subnet6}) {
    for (const HostRoute& route : routes) {
      if (route.device == request.bridge || route.destination.prefix == 0 || is_link_scope(route.destination)) continue;
      if (subnet->overlaps(route.destination)) {
        throw Error("bridge subnet " + subnet->to_string(), "overlaps the host's route to " +
                                                                 route.destination.to_string() + " on " + route.device);
      }
    }
  }
  std::set<std::tuple<Transport, uint16_t>> taken;
  for (const PortPublish& p : request.publish) {
    if (p.host_port != 0 && !taken.emplace(p.transport, p.host_port).second) {
      throw Error("--publish", "host port " + std::to_string(p.host_port) + "/" + std::string(to_string(p.transport)) +
                                   " is published twice");
    }
  }
  if (request.extra_hosts.size() > kMaxExtraHosts) {
    throw Error("--add-host", std::to_string(request.extra_hosts.size()) + " entries; at most " + std::to_string(kMaxExtraHosts));
  }
  if (request.egress.size() > kMaxEgressRules) {
    throw Error("--egress-allow", std::to_string(request.egress.size()) + " rules; at most " + std::to_string(kMaxEgressRules));
  }
}

}  // namespace nucleus
