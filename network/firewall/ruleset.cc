#include "network/firewall/ruleset.h"

#include <algorithm>
#include <map>
#include <set>

#include "network/naming.h"

namespace nucleus::net::ruleset {
namespace {

const std::string kInet = "inet " + std::string(kTable);
const std::string kBridgeTable = "bridge " + std::string(kTable);
constexpr const char* kReject = "reject with icmpx admin-prohibited";

IpAddress network_of(IpAddress ip, int prefix) {
  for (int i = prefix; i < ip.bits(); ++i) ip.bytes[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
  return ip;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string v6_port_target(const IpAddress& ip, uint16_t port) {
  return "[" + ip.to_string() + "]:" + std::to_string(port);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// "add set inet nucleus c_K_a4 { type ipv4_addr; flags interval; auto-merge; elements = {...} }"
std::string set_decl(const std::string& name, const std::string& type, const std::string& flags,
                     const std::vector<std::string>& elements) {
  std::string out = "add set " + kInet + " " + name + " { type " + type + "; flags " + flags + "; ";
  if (!elements.empty()) out += "elements = { " + join(elements) + " }; ";
  return out + "}\n";
}

struct PolicySets {
  std::vector<std::string> any4, port4, any6, port6;
};

PolicySets cidr_elements(const std::vector<EgressRule>& rules) {
  PolicySets s;
  for (IpFamily family : {IpFamily::kV4, IpFamily::kV6}) {
    for (const EgressRule& r : effective_cidr_rules(rules, family)) {
      bool v4 = family == IpFamily::kV4;
      if (r.port) {
        (v4 ? s.port4 : s.port6).push_back(r.cidr.to_string() + " . " + std::to_string(*r.port));
      } else {
        (v4 ? s.any4 : s.any6).push_back(r.cidr.to_string());
      }
    }
  }
  return s;
}

std::string policy_sets(const ContainerNames& n, const NetworkRequest& request) {
  PolicySets s = cidr_elements(request.egress);
  return set_decl(n.set("a4"), "ipv4_addr", "interval; auto-merge", s.any4) +
         set_decl(n.set("a4p"), "ipv4_addr . inet_service", "interval", s.port4) +
         set_decl(n.set("a6"), "ipv6_addr", "interval; auto-merge", s.any6) +
         set_decl(n.set("a6p"), "ipv6_addr . inet_service", "interval", s.port6) +
         set_decl(n.set("d4"), "ipv4_addr", "timeout", {}) +
         set_decl(n.set("d4p"), "ipv4_addr . inet_service", "timeout", {}) +
         set_decl(n.set("d6"), "ipv6_addr", "timeout", {}) +
         set_decl(n.set("d6p"), "ipv6_addr . inet_service", "timeout", {});
}

std::string rule(const std::string& chain, const std::string& body) {
  return "add rule " + kInet + " " + chain + " " + body + "\n";
}

// What the container sends through the host: guards first (neighbours, link-local and the
// metadata address, multicast, any other DNS server), then the allow sets, then refuse.
std::string policy_out(const ContainerNames& n, const Lease& l) {
  std::string c = n.chain_out;
  std::string out = rule(c, "ct state established,related accept");
  out += rule(c, "ip daddr { 169.254.0.0/16, 224.0.0.0/3, " + Cidr{network_of(l.gateway4, l.prefix4), l.prefix4}.to_string() + " } " + kReject);
  out += rule(c, "ip6 daddr { fe80::/10, ff00::/8, " + Cidr{network_of(l.gateway6, l.prefix6), l.prefix6}.to_string() + " } " + kReject);
  out += rule(c, std::string("meta l4proto { tcp, udp } th dport 53 ") + kReject);
  out += rule(c, "ip daddr @" + n.set("a4") + " accept");
  out += rule(c, "meta l4proto { tcp, udp } ip daddr . th dport @" + n.set("a4p") + " accept");
  out += rule(c, "ip daddr @" + n.set("d4") + " accept");
  out += rule(c, "meta l4proto { tcp, udp } ip daddr . th dport @" + n.set("d4p") + " accept");
  out += rule(c, "ip6 daddr @" + n.set("a6") + " accept");
  out += rule(c, "meta l4proto { tcp, udp } ip6 daddr . th dport @" + n.set("a6p") + " accept");
  out += rule(c, "ip6 daddr @" + n.set("d6") + " accept");
  out += rule(c, "meta l4proto { tcp, udp } ip6 daddr . th dport @" + n.set("d6p") + " accept");
  return out + rule(c, kReject);
}

// What the container sends to the host itself: its own DNS forwarder (reached only through
// the redirect), neighbour discovery, and under a policy nothing else.
std::string input_rules(const ContainerNames& n, const Lease& l) {
  std::string out = rule(n.chain_in, "ct state established,related accept");
  out += rule(n.chain_in, "ct status dnat meta l4proto { tcp, udp } th dport " + std::to_string(l.dns_port) + " accept");
  if (!l.policy) return out;
  out += rule(n.chain_in, "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept");
  return out + rule(n.chain_in, kReject);
}

std::string publish_rules(const ContainerNames& n, const Lease& l) {
  std::string out;
  for (const PortPublish& p : l.publish) {
    std::string proto(to_string(p.transport));
    std::string match = proto + " dport " + std::to_string(p.host_port);
    bool v4 = !p.host_ip || p.host_ip->family == IpFamily::kV4;
    bool v6 = !p.host_ip || p.host_ip->family == IpFamily::kV6;
    std::string only4 = p.host_ip && v4 ? "ip daddr " + p.host_ip->to_string() + " " : "";
    std::string only6 = p.host_ip && v6 ? "ip6 daddr " + p.host_ip->to_string() + " " : "";
    if (v4) out += rule(n.chain_publish, only4 + match + " dnat ip to " + l.address4.to_string() + ":" + std::to_string(p.container_port));
    if (v6) out += rule(n.chain_publish, only6 + match + " dnat ip6 to " + v6_port_target(l.address6, p.container_port));
  }
  return out;
}

std::vector<std::string> map_elements(const ContainerNames& n, const Lease& l, bool with_verdicts) {
  auto el = [&](const std::string& map, const std::string& key, const std::string& chain) {
    return "element " + kInet + " " + map + " { " + key + (with_verdicts ? " : jump " + chain : "") + " }";
  };
  std::string a4 = l.address4.to_string(), a6 = l.address6.to_string();
  std::vector<std::string> out = {
      el("from4", a4, n.chain_out),  el("from6", a6, n.chain_out),  el("in4", a4, n.chain_in),
      el("in6", a6, n.chain_in),     el("to4", a4, n.chain_inbound), el("to6", a6, n.chain_inbound),
      el("dns4", a4, n.chain_dns),
  };
  for (const PortPublish& p : l.publish) {
    out.push_back(el("published", std::string(to_string(p.transport)) + " . " + std::to_string(p.host_port), n.chain_publish));
  }
  std::string port = quoted(n.host_veth);
  out.push_back("element " + kBridgeTable + " ports { " + port + " }");
  out.push_back("element " + kBridgeTable + " bound4 { " + port + " . " + a4 + " }");
  out.push_back("element " + kBridgeTable + " bound6 { " + port + " . " + a6 + " }");
  if (l.policy) out.push_back("element " + kBridgeTable + " isolated { " + port + " }");
  return out;
}

std::vector<std::string> chains(const ContainerNames& n) {
  return {n.chain_out, n.chain_in, n.chain_inbound, n.chain_dns, n.chain_publish};
}

const char* kPolicySets[] = {"a4", "a4p", "a6", "a6p", "d4", "d4p", "d6", "d6p"};

}  // namespace

std::vector<EgressRule> effective_cidr_rules(const std::vector<EgressRule>& rules, IpFamily family) {
  std::map<int, std::vector<EgressRule>> by_port;  // -1: any port
  for (const EgressRule& r : rules) {
    if (r.kind == EgressRule::Kind::kCidr && r.cidr.address.family == family) by_port[r.port ? *r.port : -1].push_back(r);
  }
  std::vector<EgressRule> out;
  for (auto& [port, group] : by_port) {
    // Wider prefixes first: whatever covers a rule is kept before it. A rule is covered
    // when its address, cut to the length of a kept prefix, is that kept prefix: one set
    // probe per distinct kept length, not one per kept rule (5,000 rules stay cheap).
    std::stable_sort(group.begin(), group.end(), [](const EgressRule& a, const EgressRule& b) { return a.cidr.prefix < b.cidr.prefix; });
    std::set<std::pair<int, IpAddress>> kept;
    std::set<int> lengths;
    for (const EgressRule& r : group) {
      bool covered = std::any_of(lengths.begin(), lengths.upper_bound(r.cidr.prefix), [&](int len) {
        return kept.count({len, network_of(r.cidr.address, len)}) != 0;
      });
      if (covered) continue;
      kept.insert({r.cidr.prefix, r.cidr.address});
      lengths.insert(r.cidr.prefix);
      out.push_back(r);
    }
  }
  return out;
}

std::string base_inet(const std::string& bridge, const Cidr& subnet4, const Cidr& subnet6) {
  std::string br = quoted(bridge);
  return "create table " + kInet + "\n" +
         "table " + kInet + " {\n"
         "  map from4 { type ipv4_addr : verdict; }\n"
         "  map from6 { type ipv6_addr : verdict; }\n"
         "  map to4 { type ipv4_addr : verdict; }\n"
         "  map to6 { type ipv6_addr : verdict; }\n"
         "  map in4 { type ipv4_addr : verdict; }\n"
         "  map in6 { type ipv6_addr : verdict; }\n"
         "  map dns4 { type ipv4_addr : verdict; }\n"
         "  map published { type inet_proto . inet_service : verdict; }\n"
         "  chain forward {\n"
         "    type filter hook forward priority filter; policy accept;\n"
         "    iifname " + br + " ip saddr vmap @from4\n"
         "    iifname " + br + " ip6 saddr vmap @from6\n"
         "    oifname " + br + " ip daddr vmap @to4\n"
         "    oifname " + br + " ip6 daddr vmap @to6\n"
         "  }\n"
         "  chain input {\n"
         "    type filter hook input priority filter; policy accept;\n"
         "    iifname " + br + " ip saddr vmap @in4\n"
         "    iifname " + br + " ip6 saddr vmap @in6\n"
         "  }\n"
         "  chain prerouting {\n"
         "    type nat hook prerouting priority dstnat; policy accept;\n"
         "    iifname " + br + " ip saddr vmap @dns4\n"
         "    fib daddr type local meta l4proto . th dport vmap @published\n"
         "  }\n"
         "  chain output {\n"
         "    type nat hook output priority -100; policy accept;\n"
         "    fib daddr type local meta l4proto . th dport vmap @published\n"
         "  }\n"
         "  chain postrouting {\n"
         "    type nat hook postrouting priority srcnat; policy accept;\n"
         "    oifname != " + br + " ip saddr " + subnet4.to_string() + " masquerade\n"
         "    oifname != " + br + " ip6 saddr " + subnet6.to_string() + " masquerade\n"
         "    oifname " + br + " ip saddr 127.0.0.0/8 masquerade\n"
         // Hairpin: a container reaching a published port through the host's address, DNATed
         // back onto the bridge; from the gateway, so that the reply comes back through the
         // host (the target would answer the container directly, which expects the host).
         // From the bridge only: a packet from outside spoofing a container's source is not
         // given the gateway's.
         "    iifname " + br + " oifname " + br + " ct status dnat ip saddr " + subnet4.to_string() + " masquerade\n"
         "    iifname " + br + " oifname " + br + " ct status dnat ip6 saddr " + subnet6.to_string() + " masquerade\n"
         "  }\n"
         "}\n";
}

std::string base_bridge() {
  return "create table " + kBridgeTable + "\n" +
         "table " + kBridgeTable + " {\n"
         "  set ports { type ifname; }\n"
         "  set bound4 { type ifname . ipv4_addr; }\n"
         "  set bound6 { type ifname . ipv6_addr; }\n"
         "  set isolated { type ifname; }\n"
         "  chain prerouting {\n"
         "    type filter hook prerouting priority filter; policy accept;\n"
         "    iifname != @ports accept\n"
         "    ether type ip iifname . ip saddr != @bound4 drop\n"
         "    ether type ip6 ip6 saddr != { ::, fe80::/10 } iifname . ip6 saddr != @bound6 drop\n"
         // A policed container's link-local and unspecified sources carry neighbour
         // discovery only: nothing else reaches the host's link-local addresses.
         "    iifname @isolated ip6 saddr { ::, fe80::/10 } meta l4proto != ipv6-icmp drop\n"
         "    iifname @isolated ip6 saddr { ::, fe80::/10 } icmpv6 type != { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } drop\n"
         "  }\n"
         "  chain forward {\n"
         "    type filter hook forward priority filter; policy accept;\n"
         "    iifname @isolated drop\n"
         "    oifname @isolated drop\n"
         "  }\n"
         "}\n";
}

std::string container_rules(const Lease& l, const NetworkRequest& request) {
  ContainerNames n = names_for_key(l.key);
  std::string out;
  for (const std::string& chain : chains(n)) out += "add chain " + kInet + " " + chain + "\n";
  if (l.policy) {
    out += policy_sets(n, request);
    out += policy_out(n, l);
    out += rule(n.chain_inbound, "ct state established,related accept");
    out += rule(n.chain_inbound, "ct status dnat accept");
    out += rule(n.chain_inbound, kReject);
  }
  out += input_rules(n, l);
  std::string gw = l.gateway4.to_string(), port = std::to_string(l.dns_port);
  out += rule(n.chain_dns, "ip daddr " + gw + " udp dport 53 redirect to :" + port);
  out += rule(n.chain_dns, "ip daddr " + gw + " tcp dport 53 redirect to :" + port);
  out += publish_rules(n, l);
  for (const std::string& element : map_elements(n, l, true)) out += "add " + element + "\n";
  return out;
}

std::string container_rules_replacing(const Lease& prepared, const Lease& lease, const NetworkRequest& request) {
  ContainerNames n = names_for_key(prepared.key);
  std::string out;
  for (const std::string& element : map_elements(n, prepared, false)) out += "delete " + element + "\n";
  for (const std::string& chain : chains(n)) out += "flush chain " + kInet + " " + chain + "\n";
  // A policed container's sets go with their elements (its names' addresses): the chains
  // no longer name them, and a later policy makes its own, empty.
  if (prepared.policy) {
    for (const char* s : kPolicySets) out += "delete set " + kInet + " " + n.set(s) + "\n";
  }
  return out + container_rules(lease, request);
}

std::vector<std::string> container_removal(const Lease& l) {
  ContainerNames n = names_for_key(l.key);
  std::vector<std::string> out;
  for (const std::string& element : map_elements(n, l, false)) out.push_back("delete " + element);
  for (const std::string& chain : chains(n)) out.push_back("flush chain " + kInet + " " + chain);
  for (const std::string& chain : chains(n)) out.push_back("delete chain " + kInet + " " + chain);
  if (l.policy) {
    for (const char* s : kPolicySets) out.push_back("delete set " + kInet + " " + n.set(s));
  }
  return out;
}

std::string remove_base() { return "delete table " + kInet + "\ndelete table " + kBridgeTable + "\n"; }

std::string dns_grant(const std::string& key, const std::vector<dns::AddressRecord>& records, const dns::NameGrant& grant) {
  std::string out;
  for (const dns::AddressRecord& r : records) {
    uint32_t ttl = std::clamp(r.ttl, kMinTimeoutSeconds, kMaxTimeoutSeconds);
    std::string family = r.address.family == IpFamily::kV4 ? "4" : "6";
    std::vector<std::pair<std::string, std::string>> targets;  // set, element
    if (grant.any_port) targets.emplace_back("c_" + key + "_d" + family, r.address.to_string());
    for (uint16_t p : grant.ports) targets.emplace_back("c_" + key + "_d" + family + "p", r.address.to_string() + " . " + std::to_string(p));
    for (const auto& [set, element] : targets) {
      // add (so it exists), delete, add: the element's timeout starts again from this TTL.
      std::string with_timeout = "{ " + element + " timeout " + std::to_string(ttl) + "s }";
      out += "add element " + kInet + " " + set + " " + with_timeout + "\n";
      out += "delete element " + kInet + " " + set + " { " + element + " }\n";
      out += "add element " + kInet + " " + set + " " + with_timeout + "\n";
    }
  }
  return out;
}

}  // namespace nucleus::net::ruleset
