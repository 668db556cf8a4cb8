#include <gtest/gtest.h>

#include "network/dns/dns_message.h"
#include "network/dns/name_policy.h"

namespace nucleus::net::dns {
namespace {

// A response written out byte by byte (not by make_address_response): the answer's owner
// names are compression pointers, one record is a CNAME, one an A, one an AAAA.
const std::vector<uint8_t> kAnswer = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
    3, 'W', 'w', 'W', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01, 0x00, 0x01,
    // www.example.com CNAME cdn.example.com (pointer to "example.com" at 16)
    0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x06, 3, 'c', 'd', 'n', 0xc0, 0x10,
    // cdn.example.com A 192.0.2.7 TTL 300
    0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 192, 0, 2, 7,
    // cdn.example.com AAAA 2001:db8::7 TTL 30
    0xc0, 0x2d, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x10,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
};

TEST(DnsMessage, ReadsTheQuestionOfAQuery) {
  std::vector<uint8_t> query = make_query(7, "Api.Example.COM", kTypeAAAA);
  std::optional<Question> q = parse_query(query);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "api.example.com");
  EXPECT_EQ(q->type, kTypeAAAA);
  EXPECT_FALSE(parse_query(kAnswer)) << "a response is not a query";
}

TEST(DnsMessage, ReadsEveryAddressOfACompressedAnswer) {
  std::optional<Answer> a = parse_answer(kAnswer);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 0x1234);
  EXPECT_EQ(a->question.name, "www.example.com");
  ASSERT_EQ(a->addresses.size(), 2u);
  EXPECT_EQ(a->addresses[0].address.to_string(), "192.0.2.7");
  EXPECT_EQ(a->addresses[0].ttl, 300u);
  EXPECT_EQ(a->addresses[1].address.to_string(), "2001:db8::7");
  EXPECT_EQ(a->addresses[1].ttl, 30u);
}

TEST(DnsMessage, RefusesMalformedMessages) {
  for (size_t cut = 0; cut < kAnswer.size(); ++cut) {
    std::vector<uint8_t> truncated(kAnswer.begin(), kAnswer.begin() + static_cast<long>(cut));
    EXPECT_FALSE(parse_answer(truncated)) << "cut at " << cut;
  }
  std::vector<uint8_t> loop = kAnswer;
  loop[33] = 0xc0;  // the first answer's name points at itself
  loop[34] = 33;
  EXPECT_FALSE(parse_answer(loop));
  std::vector<uint8_t> forward = kAnswer;
  forward[34] = 0x40;  // a pointer forwards
  EXPECT_FALSE(parse_answer(forward));
}

TEST(DnsMessage, ErrorResponseEchoesIdAndQuestion) {
  std::vector<uint8_t> query = make_query(0xbeef, "denied.test", kTypeA);
  std::vector<uint8_t> nx = make_error_response(query, kRcodeNxDomain);
  std::optional<Answer> a = parse_answer(nx);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 0xbeef);
  EXPECT_EQ(a->rcode, kRcodeNxDomain);
  EXPECT_EQ(a->question.name, "denied.test");
  EXPECT_TRUE(a->addresses.empty());
  EXPECT_TRUE(make_error_response(std::vector<uint8_t>{1, 2, 3}, kRcodeNxDomain).empty());
}

TEST(NamePolicy, ExactNamesAndStrictSubdomainsWithTheirPorts) {
  NamePolicy policy({parse_egress_rule("pypi.org", "e"), parse_egress_rule("*.example.com:443", "e"),
                     parse_egress_rule("api.example.com:8443", "e"), parse_egress_rule("10.0.0.0/8", "e")});
  EXPECT_FALSE(policy.is_open());
  std::optional<NameGrant> pypi = policy.lookup("pypi.org");
  ASSERT_TRUE(pypi);
  EXPECT_TRUE(pypi->any_port);
  EXPECT_FALSE(policy.lookup("files.pypi.org"));
  EXPECT_FALSE(policy.lookup("example.com")) << "*.example.com is for subdomains";
  std::optional<NameGrant> api = policy.lookup("api.example.com");
  ASSERT_TRUE(api);
  EXPECT_FALSE(api->any_port);
  EXPECT_EQ(api->ports, (std::vector<uint16_t>{8443, 443}));
  EXPECT_EQ(policy.lookup("a.b.example.com")->ports, std::vector<uint16_t>{443});
  EXPECT_FALSE(policy.lookup("example.com.evil.org"));
  EXPECT_FALSE(policy.lookup("10.0.0.1"));
  EXPECT_TRUE(NamePolicy::open().lookup("anything.at.all"));
}

TEST(NamePolicy, FiveThousandRulesStayHashLookups) {
  std::vector<EgressRule> rules;
  for (int i = 0; i < 5000; ++i) {
    rules.push_back(parse_egress_rule((i % 2 ? "*.host" : "host") + std::to_string(i) + ".example", "e"));
  }
  NamePolicy policy(rules);
  EXPECT_TRUE(policy.lookup("host4998.example"));
  EXPECT_TRUE(policy.lookup("deep.sub.host4999.example"));
  EXPECT_FALSE(policy.lookup("host4999.example"));
  EXPECT_FALSE(policy.lookup("host5000.example"));
}

}  // namespace
}  // namespace nucleus::net::dns
