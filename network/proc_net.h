#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

// What a network namespace's /proc/net files and /proc's lists say, for the checks of a
// recycled namespace (network/daemon/recycle.cc reads them in the container's namespace):
// pure parsers, testable without one.
namespace nucleus::net {

// /proc/net/sockstat: "sockets: used N", every socket made in the namespace, and "TCP: ...
// tw N", its TCP connections in TIME_WAIT (no socket of anyone's any more, but its
// addresses and ports in /proc/net/tcp and its port held for a minute); -1 when missing.
struct SocketCounts {
  long used = -1, time_wait = -1;
};
SocketCounts parse_sockstat(std::string_view sockstat);

// What the namespace exchanged, from /proc/net/snmp and snmp6: IPv4 packets in and out,
// IPv6 ones delivered and sent but for ICMPv6 (the kernel's own neighbour discovery and
// router solicitations go on with no container), and the ICMPv6 messages a container would
// have caused (echoes, errors). Compared, not summed: -1 for a counter missing.
std::vector<long long> traffic_counters(std::string_view snmp, std::string_view snmp6);

}  // namespace nucleus::net
