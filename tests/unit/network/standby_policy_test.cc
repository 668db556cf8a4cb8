#include "network/standby_policy.h"

#include <gtest/gtest.h>

namespace nucleus::net {
namespace {

AttachOrder plain_order() {
  AttachOrder o;
  o.id = "web";
  o.takes_namespace = true;
  return o;
}

TEST(StandbyPolicy, AnyBridgeStartOfItsBridgeTakesAStandby) {
  AttachOrder o = plain_order();
  EXPECT_EQ(why_not_prepared(o, standby_request(o.request)), std::nullopt);
  // What the standby did not prepare, it adds at the hand-over: resolvers, names, ports, rules.
  o.request.resolvers = {*parse_ip("192.0.2.53")};
  o.request.hostname = "box";
  o.request.publish = {parse_publish("8080:80", "-p")};
  o.request.egress = {parse_egress_rule("10.0.0.0/8", "e"), parse_egress_rule("*.example.com", "e")};
  o.request.default_deny = true;
  EXPECT_EQ(why_not_prepared(o, standby_request(NetworkRequest{})), std::nullopt);
}

TEST(StandbyPolicy, AnotherBaseOrACallerWithItsOwnNamespaceIsRefusedWithItsReason) {
  const NetworkRequest prepared = standby_request(NetworkRequest{});
  struct Case {
    const char* why;
    void (*change)(AttachOrder&);
  };
  const Case cases[] = {
      {"the caller makes its own namespace", [](AttachOrder& o) { o.takes_namespace = false; }},
      {"another bridge or subnet", [](AttachOrder& o) { o.request.bridge = "other0"; }},
      {"another bridge or subnet", [](AttachOrder& o) { o.request.subnet4 = *parse_cidr("10.77.0.0/16").cidr; }},
      {"another bridge or subnet", [](AttachOrder& o) { o.request.subnet6 = *parse_cidr("fd00:77::/64").cidr; }},
  };
  for (const Case& c : cases) {
    AttachOrder o = plain_order();
    c.change(o);
    EXPECT_EQ(why_not_prepared(o, prepared), std::optional<std::string>(c.why)) << c.why;
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

TEST(StandbyPolicy, StandbyIdsAreTheirOwnKind) {
  EXPECT_TRUE(is_standby_id(standby_id(42, 7)));
  EXPECT_EQ(standby_id(42, 7), "standby-42-7");
  EXPECT_FALSE(is_standby_id("web"));
}

}  // namespace
}  // namespace nucleus::net
