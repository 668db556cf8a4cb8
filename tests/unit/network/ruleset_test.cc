#include "network/firewall/ruleset.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "network/naming.h"

namespace nucleus::net {
namespace {

// Golden files: tests/unit/data/network/*.nft. After an intended change, regenerate them
// with NUCLEUS_UPDATE_GOLDEN=1 and read the difference before committing it.
void expect_golden(const std::string& name, const std::string& actual) {
  std::string path = std::string(TEST_DATA_DIR) + "/network/" + name;
  if (std::getenv("NUCLEUS_UPDATE_GOLDEN")) std::ofstream(path) << actual;
  std::ifstream in(path);
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden file " << path;
}

Lease sample_lease(bool policy) {
  Lease l;
  l.id = "web-1";
  l.key = network_key(l.id);
  l.origin = l.id;
  l.index = 2;
  l.address4 = *parse_ip("10.231.0.2");
  l.address6 = *parse_ip("fd6e:7563:6c65::2");
  l.gateway4 = *parse_ip("10.231.0.1");
  l.gateway6 = *parse_ip("fd6e:7563:6c65::1");
  l.prefix4 = 16;
  l.prefix6 = 64;
  l.bridge = "nucleus0";
  l.dns_port = 40053;
  l.publish = {parse_publish("8080:80", "-p"), parse_publish("127.0.0.1:5353:53/udp", "-p"), parse_publish("[2001:db8::1]:8443:443", "-p")};
  l.policy = policy;
  return l;
}

NetworkRequest sample_request() {
  NetworkRequest r;
  for (const char* rule : {"203.0.113.0/24", "203.0.113.7", "198.51.100.0/24:443", "198.51.100.9:443", "198.51.100.9:22",
                           "2001:db8::/32", "[2001:db8:1::/48]:443", "pypi.org", "*.example.com:443"}) {
    r.egress.push_back(parse_egress_rule(rule, "e"));
  }
  r.publish = sample_lease(true).publish;
  return r;
}

TEST(Ruleset, BaseTables) {
  expect_golden("base_inet.nft", ruleset::base_inet("nucleus0", *parse_cidr("10.231.0.0/16").cidr,
                                                    *parse_cidr("fd6e:7563:6c65::/64").cidr));
  expect_golden("base_bridge.nft", ruleset::base_bridge());
}

TEST(Ruleset, ContainerWithAPolicy) {
  expect_golden("container_policy.nft", ruleset::container_rules(sample_lease(true), sample_request()));
}

TEST(Ruleset, ContainerWithoutAPolicy) {
  expect_golden("container_open.nft", ruleset::container_rules(sample_lease(false), NetworkRequest{}));
}

TEST(Ruleset, RemovalUndoesEveryAddition) {
  std::string removal;
  for (const std::string& c : ruleset::container_removal(sample_lease(true))) removal += c + "\n";
  expect_golden("container_removal.nft", removal);
  // Every element, chain and set the addition names is removed.
  std::string added = ruleset::container_rules(sample_lease(true), sample_request());
  for (std::string kind : {"add element ", "add chain ", "add set "}) {
    for (size_t at = added.find(kind); at != std::string::npos; at = added.find(kind, at + 1)) {
      std::string line = added.substr(at + 4, added.find(" {", at) - at - 4);  // "element inet nucleus from4"
      if (kind == "add chain ") line = added.substr(at + 4, added.find('\n', at) - at - 4);
      EXPECT_NE(removal.find("delete " + line), std::string::npos) << line;
    }
  }
}

TEST(Ruleset, AHandOverReplacesAPreparedContainersRulesInOneTransaction) {
  Lease prepared = sample_lease(false);
  prepared.publish.clear();
  const Lease lease = sample_lease(true);  // the same key and addresses, now with a policy and ports
  std::string text = ruleset::container_rules_replacing(prepared, lease, sample_request());
  // The prepared elements go first, then the chains are emptied, then the container's own
  // rules follow exactly as a fresh attach makes them.
  size_t rules_at = text.find(ruleset::container_rules(lease, sample_request()));
  ASSERT_NE(rules_at, std::string::npos);
  EXPECT_EQ(rules_at + ruleset::container_rules(lease, sample_request()).size(), text.size());
  std::string before = text.substr(0, rules_at);
  for (const std::string& removal : ruleset::container_removal(prepared)) {
    if (removal.rfind("delete element", 0) == 0 || removal.rfind("flush chain", 0) == 0) {
      EXPECT_NE(before.find(removal + "\n"), std::string::npos) << removal;
    }
  }
  // Chains are kept (their `add chain` is idempotent); nothing of the prepared one is deleted
  // but its elements, so no packet meets a missing chain.
  EXPECT_EQ(before.find("delete chain"), std::string::npos);
  EXPECT_EQ(before.find("delete set"), std::string::npos);
  EXPECT_EQ(before.find("isolated"), std::string::npos);
}

// A recycled namespace (docs/networking.md, "Recycled namespaces"): an ended container's
// rules back into a standby's. Its policy's sets go, with the addresses its names were
// granted, after the chains naming them are flushed; its elements (its ports, `isolated`)
// too; then the standby's rules, which name no set.
TEST(Ruleset, ARecycledNamespaceLosesTheEndedContainersSetsAndElements) {
  const Lease ended = sample_lease(true);
  Lease standby = ended;
  standby.publish.clear();
  standby.policy = false;
  NetworkRequest open_request;
  std::string text = ruleset::container_rules_replacing(ended, standby, open_request);
  const std::string rules = ruleset::container_rules(standby, open_request);
  ASSERT_EQ(text.substr(text.size() - rules.size()), rules);
  const std::string before = text.substr(0, text.size() - rules.size());
  size_t last_flush = before.rfind("flush chain");
  for (const std::string& removal : ruleset::container_removal(ended)) {
    if (removal.rfind("delete chain", 0) == 0) continue;  // kept: the standby's rules use them
    size_t at = before.find(removal + "\n");
    EXPECT_NE(at, std::string::npos) << removal;
    if (removal.rfind("delete set", 0) == 0) {
      EXPECT_GT(at, last_flush) << removal;
    }
  }
  EXPECT_NE(before.find("isolated"), std::string::npos);
  EXPECT_EQ(rules.find("add set"), std::string::npos);
}

TEST(Ruleset, DnsGrantRefreshesEachElementsTimeout) {
  std::vector<dns::AddressRecord> records = {{*parse_ip("192.0.2.7"), 300}, {*parse_ip("2001:db8::7"), 0}};
  expect_golden("dns_grant_any_port.nft", ruleset::dns_grant("k", records, dns::NameGrant{true, {}}));
  expect_golden("dns_grant_ports.nft", ruleset::dns_grant("k", records, dns::NameGrant{false, {443, 8443}}));
  EXPECT_EQ(ruleset::dns_grant("k", records, dns::NameGrant{false, {}}), "");
}

TEST(Ruleset, CoveredCidrsAreLeftOutOfIntervalSets) {
  std::vector<EgressRule> rules;
  for (const char* rule : {"10.1.2.3:443", "10.0.0.0/8:443", "10.0.0.0/8:443", "10.1.0.0/16", "11.0.0.1:443", "[fd00::/8]:443"}) {
    rules.push_back(parse_egress_rule(rule, "e"));
  }
  std::vector<EgressRule> v4 = ruleset::effective_cidr_rules(rules, IpFamily::kV4);
  std::vector<std::string> kept;
  for (const EgressRule& r : v4) kept.push_back(to_string(r));
  EXPECT_EQ(kept, (std::vector<std::string>{"10.1.0.0/16", "10.0.0.0/8:443", "11.0.0.1/32:443"}));
  EXPECT_EQ(ruleset::effective_cidr_rules(rules, IpFamily::kV6).size(), 1u);
}

TEST(Ruleset, FiveThousandRulesAreSetElementsNotRules) {
  NetworkRequest r;
  for (int i = 0; i < 5000; ++i) {
    std::string rule = i % 3 == 0   ? "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24"
                       : i % 3 == 1 ? "host" + std::to_string(i) + ".example"
                                    : "*.zone" + std::to_string(i) + ".example:443";
    r.egress.push_back(parse_egress_rule(rule, "e"));
  }
  std::string rules = ruleset::container_rules(sample_lease(true), r);
  std::string small = ruleset::container_rules(sample_lease(true), sample_request());
  auto count = [](const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(rules, "add rule"), count(small, "add rule"));  // the chain does not grow
  EXPECT_EQ(count(rules, "/24"), 1667u);                             // the CIDRs are elements
}

}  // namespace
}  // namespace nucleus::net
