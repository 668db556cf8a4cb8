// A record's spec.json (config/spec_json.h): what a restart, `up`'s comparison and the
// later verbs read back is what the container was given.
#include "config/spec_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/container_spec.h"

namespace nucleus {
namespace {

TEST(SpecJson, ABridgeRequestComesBackWhole) {
  ContainerSpec spec;
  spec.network = NetworkMode::kBridge;
  NetworkRequest r;
  r.bridge = "nucleus7";
  r.subnet4 = parse_subnet("10.99.0.0/24", IpFamily::kV4, "test");
  r.subnet6 = parse_subnet("fd00:99::/64", IpFamily::kV6, "test");
  r.publish = {parse_publish("127.0.0.1:8080:80", "test"), parse_publish("[2001:db8::1]:5353:53/udp", "test"),
               parse_publish("9000:9000", "test")};
  r.egress = {parse_egress_rule("10.0.0.0/8", "test"), parse_egress_rule("*.example.com:443", "test"),
              parse_egress_rule("pypi.org", "test")};
  r.default_deny = true;
  r.resolvers = {*parse_ip("192.0.2.53"), *parse_ip("2001:db8::53")};
  r.hostname = "box";
  r.extra_hosts = {parse_extra_host("db:192.0.2.7", "test"), parse_extra_host("gw:host-gateway", "test")};
  spec.bridge = r;

  ContainerSpec back = spec_from_json(spec_to_json(spec), "test");
  ASSERT_TRUE(back.bridge.has_value());
  const NetworkRequest& b = *back.bridge;
  EXPECT_EQ(b.bridge, "nucleus7");
  EXPECT_EQ(b.subnet4.to_string(), "10.99.0.0/24");
  EXPECT_EQ(b.subnet6.to_string(), "fd00:99::/64");
  EXPECT_EQ(b.publish, r.publish);
  EXPECT_EQ(b.egress, r.egress);
  EXPECT_TRUE(b.default_deny);
  ASSERT_EQ(b.resolvers.size(), 2u);
  EXPECT_EQ(b.resolvers[1].to_string(), "2001:db8::53");
  EXPECT_EQ(b.hostname, "box");
  EXPECT_EQ(b.extra_hosts, r.extra_hosts);
  // A change of the request is a change of the spec (`up` compares the two texts).
  spec.bridge->publish.pop_back();
  EXPECT_NE(spec_to_json(spec), spec_to_json(back));
}

TEST(SpecJson, ARecordWithoutTheRequestGetsTheDefaultsNotNone) {
  ContainerSpec spec;
  spec.network = NetworkMode::kBridge;
  spec.isolation = IsolationLevel::kUntrusted;
  spec.hostname = "box";
  spec.bridge = NetworkRequest{};
  nlohmann::json old = nlohmann::json::parse(spec_to_json(spec));
  old.erase("bridge");  // as nucleus wrote it before stop 28
  ContainerSpec back = spec_from_json(old.dump(), "test");
  ASSERT_TRUE(back.bridge.has_value());
  EXPECT_EQ(back.bridge->subnet4.to_string(), std::string(kDefaultSubnet4));
  EXPECT_TRUE(back.bridge->default_deny);  // untrusted's egress stays closed
  EXPECT_EQ(back.bridge->hostname, "box");

  ContainerSpec none;
  EXPECT_FALSE(spec_from_json(spec_to_json(none), "test").bridge.has_value());
}

}  // namespace
}  // namespace nucleus
