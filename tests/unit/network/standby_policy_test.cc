#include "network/standby_policy.h"

#include <gtest/gtest.h>

#include <functional>

namespace nucleus::net {
namespace {

TEST(StandbyPolicy, AnyBridgeStartOfItsBridgeTakesAStandby) {
  NetworkRequest wanted;
  EXPECT_TRUE(standby_serves(wanted, standby_request(wanted)));
  // What the standby did not prepare, it adds at the hand-over: resolvers, names, ports, rules.
  wanted.resolvers = {*parse_ip("192.0.2.53")};
  wanted.hostname = "box";
  wanted.publish = {parse_publish("8080:80", "-p")};
  wanted.egress = {parse_egress_rule("10.0.0.0/8", "e"), parse_egress_rule("*.example.com", "e")};
  wanted.default_deny = true;
  EXPECT_TRUE(standby_serves(wanted, standby_request(NetworkRequest{})));
}

TEST(StandbyPolicy, AnotherBridgeOrSubnetIsNotServed) {
  const NetworkRequest prepared = standby_request(NetworkRequest{});
  const std::function<void(NetworkRequest&)> changes[] = {
      [](NetworkRequest& r) { r.bridge = "other0"; },
      [](NetworkRequest& r) { r.subnet4 = *parse_cidr("10.77.0.0/16").cidr; },
      [](NetworkRequest& r) { r.subnet6 = *parse_cidr("fd00:77::/64").cidr; },
  };
  for (const auto& change : changes) {
    NetworkRequest wanted;
    change(wanted);
    EXPECT_FALSE(standby_serves(wanted, prepared));
  }
}

TEST(StandbyPolicy, AStandbyIsPreparedWithoutPolicyPortsOrResolvers) {
  NetworkRequest asked;
  asked.bridge = "br9";
  asked.subnet4 = *parse_cidr("10.99.0.0/24").cidr;
  asked.publish = {parse_publish("8080:80", "-p")};
  asked.egress = {parse_egress_rule("10.0.0.0/8", "e")};
  asked.default_deny = true;
  asked.resolvers = {*parse_ip("192.0.2.53")};
  NetworkRequest r = standby_request(asked);
  EXPECT_EQ(r.bridge, "br9");
  EXPECT_EQ(r.subnet4, asked.subnet4);
  EXPECT_TRUE(r.publish.empty());
  EXPECT_FALSE(r.enforces_policy());
  EXPECT_TRUE(r.resolvers.empty());
}

TEST(StandbyPolicy, StandbyIdsAreTheirOwnKind) { EXPECT_EQ(standby_id(42, 7), "standby-42-7"); }

// A standby's lease names its owner; a container's cannot (its netd's pid and start time
// are not the container's to choose), whatever its name.
TEST(StandbyPolicy, AStandbysLeaseIsKnownByItsOwner) {
  Lease lease;
  lease.owner = {.pid = 42, .start_time = 7};
  lease.id = "standby-42-7";
  EXPECT_TRUE(is_standby_lease(lease));
  lease.id = "web";  // handed over: the container's id
  EXPECT_FALSE(is_standby_lease(lease));
  lease.id = "standby-42-8";  // a container so named, its netd another process
  EXPECT_FALSE(is_standby_lease(lease));
}

}  // namespace
}  // namespace nucleus::net
