#pragma once

#include <linux/netlink.h>

#include <string>
#include <string_view>

#include "config/ip_address.h"
#include "network/ipam/lease_store.h"

struct nl_sock;

// Links, addresses and routes through libnl-route-3 (netlink; no `ip` process). Runs in
// nucleus-netd, which is single-threaded, so switching its network namespace for a moment
// (NetlinkSocket::in_namespace) affects nothing else.
namespace nucleus::net {

class NetlinkSocket {
 public:
  // Connected in the current network namespace: NETLINK_ROUTE, or another protocol's
  // (conntrack.cc: NETLINK_NETFILTER).
  explicit NetlinkSocket(int protocol = NETLINK_ROUTE);
  // A socket bound to netns_fd's namespace: setns there, open it, setns back. A netlink
  // socket keeps the namespace it was opened in.
  static NetlinkSocket in_namespace(int netns_fd);
  ~NetlinkSocket();
  NetlinkSocket(NetlinkSocket&& other) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(NetlinkSocket&&) = delete;

  nl_sock* get() const { return sock_; }

 private:
  nl_sock* sock_ = nullptr;
};

// The bridge, its gateway addresses (no duplicate address detection: usable at once) and
// up; whatever of it exists is kept. Also IPv4/IPv6 forwarding and route_localnet on the
// bridge (published ports reachable at 127.0.0.1, docs/networking.md).
void ensure_bridge(const NetlinkSocket& host, const std::string& bridge, const Lease& lease);

// A veth pair: host_name up on the bridge, its peer created directly in the namespace of
// netns_fd as `peer_name`.
void create_veth(const NetlinkSocket& host, const std::string& host_name, const std::string& bridge, int netns_fd,
                 std::string_view peer_name);

// Inside the container's namespace: lo up, the lease's addresses on `ifname`, up, default
// routes through the gateways.
void configure_container_side(const NetlinkSocket& container, std::string_view ifname, const Lease& lease);

// The container namespace's settings (a table, links.cc kContainerSysctls):
//  - any port may be bound (ip_unprivileged_port_start=0), as Docker sets it: the namespace
//    is the container's alone, and a prepared one belongs to the host's user namespace,
//    where no capability of the container's counts (its root could not bind :80 there, and
//    could in a namespace of its own);
//  - no router advertisement is taken (accept_ra=0, autoconf=0): a neighbour on the bridge
//    could otherwise give it routes and addresses, which a recycled namespace would pass on;
//  - no TCP metrics are saved (tcp_no_metrics_save=1): its peers and their round-trip times.
void set_container_sysctls(int netns_fd);
// The namespace's route caches (IPv4 and IPv6: path MTUs learnt of its peers) flushed, for
// a recycled namespace's next container.
void flush_route_caches_in(int netns_fd);

// Deletes a link (the peer of a veth goes with it); false when there was none.
bool delete_link(const NetlinkSocket& sock, const std::string& name);
bool link_exists(const NetlinkSocket& sock, const std::string& name);

}  // namespace nucleus::net
