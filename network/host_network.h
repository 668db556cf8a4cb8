#pragma once

#include <string>
#include <vector>

#include "config/network_spec.h"
#include "core/sys/unique_fd.h"

// What nucleus reads of the host's network before it creates anything: its routes (a
// bridge subnet must not overlap them), its resolvers (the forwarder's upstreams), and
// whether a published port is free. All read in the calling process's network namespace.
namespace nucleus::net {

// /proc/net/route and /proc/net/ipv6_route.
std::vector<HostRoute> read_host_routes();

// The bridge configuration a request asks for, as netd records the one its bridge and base
// tables serve (<state>/base: one at a time): the bridge's name and subnets.
std::string bridge_configuration(const NetworkRequest& request);
// What <state>/base records; "" when nothing (or it cannot be read).
std::string recorded_bridge_configuration(const std::string& state_dir);
// Whether netd's bridge and base tables under state_dir serve request's configuration: a
// standby checks it (under the store's lock) before it is handed to a container, and a
// start before it reads the host's routes (check_network_request).
bool records_bridge_configuration(const std::string& state_dir, const NetworkRequest& request);
std::vector<HostRoute> parse_ipv4_routes(const std::string& proc_net_route);
std::vector<HostRoute> parse_ipv6_routes(const std::string& proc_net_ipv6_route);

// The nameserver lines of a resolv.conf (path: /etc/resolv.conf by default).
std::vector<IpAddress> read_resolvers(const std::string& path = "/etc/resolv.conf");
std::vector<IpAddress> parse_resolvers(const std::string& resolv_conf);

// Binds every published port (not listening: it never receives a packet, the DNAT comes
// first) and returns the sockets: held, no other program of the host can take a port a
// container answers on. Throws Error("--publish ...", "... is already in use") for the
// first port some socket of the host already holds. A host port 0 (`-p CONTAINER`) is bound
// to one the kernel chooses, written back into publish: what the rules and the lease name.
std::vector<UniqueFd> hold_published_ports(std::vector<PortPublish>& publish);
// The same check, letting the ports go at once: before anything of a container exists.
inline void check_published_ports_free(std::vector<PortPublish> publish) { (void)hold_published_ports(publish); }

}  // namespace nucleus::net
