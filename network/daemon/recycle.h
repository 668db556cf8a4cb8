#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

// Recycled namespaces (docs/networking.md, "Recycled namespaces"): a standby's namespace
// served a container that has ended, and may serve the next one instead of being destroyed
// while another is made. nucleus says whether the container could have left anything in it
// that netd cannot see (AttachOrder::recyclable: its own pid namespace, no NET_ADMIN,
// NET_RAW or SYS_ADMIN, /proc/sys read-only, no sysctl); these are the checks netd makes of
// what it can see, once the container has ended.
namespace nucleus::net {

// What a standby notes of its namespace once it is configured, to find again in it at the
// end of every container it served.
struct NamespaceBaseline {
  ino_t inode = 0;
  dev_t device = 0;
  // The namespace's counters of what it sent and received (traffic_of).
  std::vector<long long> traffic;
};
NamespaceBaseline namespace_baseline(int netns_fd);

// Whether the namespace exchanged anything the host's connection tracking follows since
// the baseline: IPv4 at all, IPv6 other than ICMPv6, ICMPv6's echoes and errors (its
// neighbour discovery and multicast reports, which the kernel sends by itself and
// conntrack does not track, are left out). No: its addresses have no flow to flush. The
// baseline's counters become the namespace's current ones.
bool exchanged_traffic(int netns_fd, NamespaceBaseline& baseline);

// Why the ended container's namespace may not serve another (nullopt: it may): its init has
// not ended (`container_pidfd` not readable, or none: with its own pid namespace, the
// kernel has ended every process of the container once its init's end is seen), a socket
// of it is left in the namespace
// ("sockets: used" of its /proc/net/sockstat: every socket made in it, whoever holds it, one
// passed out over a unix socket too, TCP's orphans still closing included; netd keeps none
// there; a closed one may take a grace period of RCU to be freed, which is waited for, up
// to 100 ms), or a TCP connection of it is in TIME_WAIT (its addresses and ports would be
// the next container's to see, its port held).
// nucleus's marks (a pod's member, an exec's capabilities) are read by reset_to_standby,
// under the lock of its rename.
std::optional<std::string> recycle_refusal(int netns_fd, const NamespaceBaseline& baseline, int container_pidfd);

}  // namespace nucleus::net
