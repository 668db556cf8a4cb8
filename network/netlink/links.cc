#include "network/netlink/links.h"

#include <fcntl.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <cstdlib>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/netlink/netns.h"

namespace nucleus::net {
namespace {

[[noreturn]] void throw_nl(const std::string& step, int err) {
  throw Error(step, nl_geterror(err));
}

// Owners of libnl objects, released on every way out.
struct LinkRef {
  rtnl_link* p = nullptr;
  ~LinkRef() { if (p) rtnl_link_put(p); }
};
struct AddrRef {
  rtnl_addr* p = rtnl_addr_alloc();
  ~AddrRef() { rtnl_addr_put(p); }
};
struct NlAddrRef {
  nl_addr* p = nullptr;
  ~NlAddrRef() { if (p) nl_addr_put(p); }
};
struct RouteRef {
  rtnl_route* p = rtnl_route_alloc();
  ~RouteRef() { rtnl_route_put(p); }
};

int family_of(const IpAddress& ip) { return ip.family == IpFamily::kV4 ? AF_INET : AF_INET6; }

nl_addr* build(const IpAddress& ip, int prefix) {
  nl_addr* a = nl_addr_build(family_of(ip), ip.bytes.data(), ip.size());
  if (a == nullptr) throw Error("netlink", "out of memory");
  nl_addr_set_prefixlen(a, prefix);
  return a;
}

LinkRef get_link(const NetlinkSocket& sock, std::string_view name) {
  LinkRef link;
  int err = rtnl_link_get_kernel(sock.get(), 0, std::string(name).c_str(), &link.p);
  if (err < 0) throw_nl("find link " + std::string(name), err);
  return link;
}

void set_up(const NetlinkSocket& sock, const LinkRef& link, const std::string& name) {
  LinkRef change{rtnl_link_alloc()};
  rtnl_link_set_flags(change.p, IFF_UP);
  if (int err = rtnl_link_change(sock.get(), link.p, change.p, 0); err < 0) throw_nl("set " + name + " up", err);
}

// NLM_F_REPLACE: an address already there is kept as it is, so this is idempotent.
void add_address(const NetlinkSocket& sock, int ifindex, const IpAddress& ip, int prefix, const std::string& name) {
  AddrRef addr;
  NlAddrRef local{build(ip, prefix)};
  rtnl_addr_set_ifindex(addr.p, ifindex);
  rtnl_addr_set_family(addr.p, family_of(ip));
  rtnl_addr_set_local(addr.p, local.p);
  rtnl_addr_set_prefixlen(addr.p, prefix);
  if (ip.family == IpFamily::kV6) rtnl_addr_set_flags(addr.p, IFA_F_NODAD);
  if (int err = rtnl_addr_add(sock.get(), addr.p, NLM_F_CREATE | NLM_F_REPLACE); err < 0) {
    throw_nl("add " + ip.to_string() + "/" + std::to_string(prefix) + " to " + name, err);
  }
}

void add_default_route(const NetlinkSocket& sock, int ifindex, const IpAddress& gateway) {
  RouteRef route;
  IpAddress any{gateway.family, {}};
  NlAddrRef dst{build(any, 0)}, via{build(gateway, gateway.bits())};
  rtnl_route_set_family(route.p, static_cast<uint8_t>(family_of(gateway)));
  rtnl_route_set_dst(route.p, dst.p);
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(hop, ifindex);
  rtnl_route_nh_set_gateway(hop, via.p);
  rtnl_route_add_nexthop(route.p, hop);  // the route owns it from here
  if (int err = rtnl_route_add(sock.get(), route.p, NLM_F_CREATE | NLM_F_REPLACE); err < 0) {
    throw_nl("add a default route via " + gateway.to_string(), err);
  }
}

void write_sysctl(const std::string& path, const char* value) {
  sys::write_file(path, value, "set " + path.substr(10));  // after "/proc/sys/"
}

}  // namespace

NetlinkSocket::NetlinkSocket(int protocol) {
  sock_ = nl_socket_alloc();
  if (sock_ == nullptr) throw Error("netlink", "out of memory");
  if (int err = nl_connect(sock_, protocol); err < 0) {
    nl_socket_free(sock_);
    throw_nl("open a netlink socket", err);
  }
}

NetlinkSocket NetlinkSocket::in_namespace(int netns_fd) {
  NetnsSwitch inside(netns_fd);
  return NetlinkSocket();
}

NetlinkSocket::~NetlinkSocket() {
  if (sock_) nl_socket_free(sock_);
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept : sock_(std::exchange(other.sock_, nullptr)) {}

void ensure_bridge(const NetlinkSocket& host, const std::string& bridge, const Lease& lease) {
  if (!link_exists(host, bridge)) {
    LinkRef link{rtnl_link_bridge_alloc()};
    rtnl_link_set_name(link.p, bridge.c_str());
    // An address of its own, set: a bridge without one takes the lowest of its ports', so
    // a veth joining (a container's, a standby's) could change the gateway's MAC under the
    // containers' neighbour caches, and their routed traffic would go nowhere until those
    // expire. Random, locally administered, unicast (as docker0's).
    uint8_t mac[6];
    if (::getrandom(mac, sizeof mac, 0) != static_cast<ssize_t>(sizeof mac)) throw_errno("create bridge " + bridge, "getrandom");
    mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);
    NlAddrRef lladdr{nl_addr_build(AF_LLC, mac, sizeof mac)};
    rtnl_link_set_addr(link.p, lladdr.p);
    int err = rtnl_link_add(host.get(), link.p, NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST) throw_nl("create bridge " + bridge, err);
  }
  LinkRef link = get_link(host, bridge);
  int index = rtnl_link_get_ifindex(link.p);
  add_address(host, index, lease.gateway4, lease.prefix4, bridge);
  add_address(host, index, lease.gateway6, lease.prefix6, bridge);
  set_up(host, link, bridge);
  write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
  write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
  write_sysctl("/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet", "1");
}

void create_veth(const NetlinkSocket& host, const std::string& host_name, const std::string& bridge, int netns_fd,
                 std::string_view peer_name) {
  LinkRef br = get_link(host, bridge);
  rtnl_link* veth = rtnl_link_veth_alloc();
  if (veth == nullptr) throw Error("netlink", "out of memory");
  rtnl_link_set_name(veth, host_name.c_str());
  rtnl_link_set_master(veth, rtnl_link_get_ifindex(br.p));
  rtnl_link_set_flags(veth, IFF_UP);
  LinkRef peer{rtnl_link_veth_get_peer(veth)};
  rtnl_link_set_name(peer.p, std::string(peer_name).c_str());
  rtnl_link_set_ns_fd(peer.p, netns_fd);
  int err = rtnl_link_add(host.get(), veth, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_veth_release(veth);
  if (err < 0) throw_nl("create veth " + host_name, err);
}

void configure_container_side(const NetlinkSocket& container, std::string_view ifname, const Lease& lease) {
  set_up(container, get_link(container, "lo"), "lo");
  LinkRef link = get_link(container, ifname);
  std::string name(ifname);
  int index = rtnl_link_get_ifindex(link.p);
  add_address(container, index, lease.address4, lease.prefix4, name);
  add_address(container, index, lease.address6, lease.prefix6, name);
  set_up(container, link, name);
  add_default_route(container, index, lease.gateway4);
  add_default_route(container, index, lease.gateway6);
}

void set_container_sysctls(int netns_fd) {
  static constexpr std::pair<const char*, const char*> kContainerSysctls[] = {
      {"/proc/sys/net/ipv4/ip_unprivileged_port_start", "0"},
      {"/proc/sys/net/ipv6/conf/all/accept_ra", "0"},
      {"/proc/sys/net/ipv6/conf/default/accept_ra", "0"},
      {"/proc/sys/net/ipv6/conf/eth0/accept_ra", "0"},
      {"/proc/sys/net/ipv6/conf/all/autoconf", "0"},
      {"/proc/sys/net/ipv6/conf/default/autoconf", "0"},
      {"/proc/sys/net/ipv6/conf/eth0/autoconf", "0"},
      // What it learnt of its peers' paths is not kept past a connection (a recycled
      // namespace's next container could read it: `ip tcp_metrics` needs no privilege).
      {"/proc/sys/net/ipv4/tcp_no_metrics_save", "1"},
  };
  NetnsSwitch inside(netns_fd);
  for (const auto& [path, value] : kContainerSysctls) write_sysctl(path, value);
}

void flush_route_caches_in(int netns_fd) {
  NetnsSwitch inside(netns_fd);
  for (const char* path : {"/proc/sys/net/ipv4/route/flush", "/proc/sys/net/ipv6/route/flush"}) write_sysctl(path, "1");
}

bool link_exists(const NetlinkSocket& sock, const std::string& name) {
  LinkRef link;
  int err = rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &link.p);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) throw_nl("find link " + name, err);
  return true;
}

bool delete_link(const NetlinkSocket& sock, const std::string& name) {
  LinkRef link{rtnl_link_alloc()};
  rtnl_link_set_name(link.p, name.c_str());
  int err = rtnl_link_delete(sock.get(), link.p);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) throw_nl("delete link " + name, err);
  return true;
}

}  // namespace nucleus::net
