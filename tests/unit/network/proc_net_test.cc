// The parsers of a recycled namespace's checks (network/proc_net.h), on text as the kernel
// writes it (6.x layouts; a counter a kernel lacks reads -1).
#include "network/proc_net.h"

#include <gtest/gtest.h>

namespace nucleus::net {
namespace {

constexpr std::string_view kSnmp =
    "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers "
    "OutRequests OutDiscards OutNoRoutes\n"
    "Ip: 2 64 3309 0 0 0 0 0 3309 2800 0 0\n"
    "Icmp: InMsgs InErrors\n"
    "Icmp: 4 0\n";

constexpr std::string_view kSnmp6 =
    "Ip6InReceives                   \t4\n"
    "Ip6InDelivers                   \t7\n"
    "Ip6OutRequests                  \t28\n"
    "Icmp6InMsgs                     \t4\n"
    "Icmp6OutMsgs                    \t24\n"
    "Icmp6InEchos                    \t0\n"
    "Icmp6InEchoReplies              \t1\n"
    "Icmp6OutEchos                   \t2\n"
    "Icmp6OutEchoReplies             \t0\n"
    "Icmp6InDestUnreachs             \t3\n"
    "Icmp6OutDestUnreachs            \t0\n"
    "Icmp6InPktTooBigs               \t0\n"
    "Icmp6OutPktTooBigs              \t0\n"
    "Icmp6InTimeExcds                \t0\n"
    "Icmp6OutTimeExcds               \t0\n"
    "Icmp6InParmProblems             \t0\n"
    "Icmp6OutParmProblems            \t5\n";

TEST(ProcNet, TrafficCountersTakeIpv4PacketsAndIpv6OtherThanIcmp) {
  EXPECT_EQ(traffic_counters(kSnmp, kSnmp6),
            (std::vector<long long>{3309, 2800, 7 - 4, 28 - 24, 0, 1, 2, 0, 3, 0, 0, 0, 0, 0, 0, 5}));
}

TEST(ProcNet, TrafficCountersSeeOneCounterMove) {
  // The kernel's own neighbour solicitation: one IPv6 packet out, an ICMPv6 message: left out.
  std::string moved(kSnmp6);
  moved.replace(moved.find("\t28\n"), 4, "\t29\n");
  moved.replace(moved.find("\t24\n"), 4, "\t25\n");
  EXPECT_EQ(traffic_counters(kSnmp, moved), traffic_counters(kSnmp, kSnmp6));
  // A UDP datagram out: counted.
  moved.replace(moved.find("\t29\n"), 4, "\t30\n");
  EXPECT_NE(traffic_counters(kSnmp, moved), traffic_counters(kSnmp, kSnmp6));
  // An echo request out (ICMPv6, but conntrack follows it): counted.
  std::string echo(kSnmp6);
  echo.replace(echo.find("Icmp6OutEchos                   \t2"), 34, "Icmp6OutEchos                   \t3");
  EXPECT_NE(traffic_counters(kSnmp, echo), traffic_counters(kSnmp, kSnmp6));
}

TEST(ProcNet, MissingFilesOrCountersReadMinusOne) {
  std::vector<long long> none = traffic_counters("", "");
  EXPECT_EQ(none.size(), 16u);
  EXPECT_EQ(none[0], -1);
  EXPECT_EQ(none[1], -1);
  EXPECT_EQ(none[4], -1);
  // A header without its values line, a name without a value.
  EXPECT_EQ(traffic_counters("Ip: Forwarding InReceives\n", "Ip6InDelivers   \n")[0], -1);
}

TEST(ProcNet, SockstatGivesSocketsUsedAndTimeWait) {
  SocketCounts c = parse_sockstat(
      "sockets: used 8\nTCP: inuse 1 orphan 0 tw 3 alloc 11 mem 2\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\n"
      "RAW: inuse 0\nFRAG: inuse 0 memory 0\n");
  EXPECT_EQ(c.used, 8);
  EXPECT_EQ(c.time_wait, 3);
  SocketCounts empty = parse_sockstat("");
  EXPECT_EQ(empty.used, -1);
  EXPECT_EQ(empty.time_wait, -1);
  // "tw" on another line than TCP's is not TCP's.
  EXPECT_EQ(parse_sockstat("sockets: used 0\nTCP: inuse 0\nUDP: tw 4\n").time_wait, -1);
}

}  // namespace
}  // namespace nucleus::net
