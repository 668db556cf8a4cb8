#include "config/network_spec.h"

#include <gtest/gtest.h>

#include "core/sys/error.h"

namespace nucleus {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 125);
    return e.what();
  }
  return "no error";
}

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(parse_ip("192.0.2.1")->to_string(), "192.0.2.1");
  EXPECT_EQ(parse_ip("2001:DB8::1")->to_string(), "2001:db8::1");
  EXPECT_FALSE(parse_ip("192.0.2.256"));
  EXPECT_FALSE(parse_ip("[::1]"));
  EXPECT_FALSE(parse_ip(""));
}

TEST(Cidr, ContainsOverlapsAndCounts) {
  Cidr net = *parse_cidr("10.231.0.0/16").cidr;
  EXPECT_TRUE(net.contains(*parse_ip("10.231.255.1")));
  EXPECT_FALSE(net.contains(*parse_ip("10.232.0.1")));
  EXPECT_FALSE(net.contains(*parse_ip("::1")));
  EXPECT_TRUE(net.overlaps(*parse_cidr("10.0.0.0/8").cidr));
  EXPECT_TRUE(net.overlaps(*parse_cidr("10.231.4.0/24").cidr));
  EXPECT_FALSE(net.overlaps(*parse_cidr("10.230.0.0/16").cidr));
  EXPECT_EQ(net.nth(258)->to_string(), "10.231.1.2");
  EXPECT_FALSE(net.nth(65536));
  EXPECT_EQ(parse_cidr("fd00::/64").cidr->nth(0x10001)->to_string(), "fd00::1:1");
  EXPECT_EQ(parse_cidr("203.0.113.7").cidr->to_string(), "203.0.113.7/32");
}

TEST(Cidr, NamesWhatIsWrong) {
  EXPECT_EQ(parse_cidr("10.0.0.0/33").problem, "prefix length '33' is not 0-32");
  EXPECT_EQ(parse_cidr("fd00::/129").problem, "prefix length '129' is not 0-128");
  EXPECT_EQ(parse_cidr("10.0.0.0/").problem, "prefix length '' is not 0-32");
  EXPECT_EQ(parse_cidr("10.0.0/8").problem, "malformed address '10.0.0'");
  EXPECT_EQ(parse_cidr("10.1.0.0/8").problem, "host bits set in '10.1.0.0/8' (the network is 10.0.0.0/8)");
}

TEST(Publish, ParsesEveryForm) {
  EXPECT_EQ(parse_publish("8080:80", "-p"), (PortPublish{std::nullopt, 8080, 80, Transport::kTcp}));
  EXPECT_EQ(parse_publish("53:53/udp", "-p"), (PortPublish{std::nullopt, 53, 53, Transport::kUdp}));
  EXPECT_EQ(parse_publish("127.0.0.1:8080:80/tcp", "-p"), (PortPublish{parse_ip("127.0.0.1"), 8080, 80, Transport::kTcp}));
  EXPECT_EQ(parse_publish("[2001:db8::5]:8080:80", "-p"), (PortPublish{parse_ip("2001:db8::5"), 8080, 80, Transport::kTcp}));
  // Docker's forms for a host port of the kernel's choice: host port 0 until attached.
  EXPECT_EQ(parse_publish("80", "-p"), (PortPublish{std::nullopt, 0, 80, Transport::kTcp}));
  EXPECT_EQ(parse_publish("53/udp", "-p"), (PortPublish{std::nullopt, 0, 53, Transport::kUdp}));
  EXPECT_EQ(parse_publish("127.0.0.1::80", "-p"), (PortPublish{parse_ip("127.0.0.1"), 0, 80, Transport::kTcp}));
  EXPECT_EQ(parse_publish("[2001:db8::5]::80", "-p"), (PortPublish{parse_ip("2001:db8::5"), 0, 80, Transport::kTcp}));
  // And back, as the order to netd and the record carry them.
  for (const char* form : {"[2001:db8::5]:8080:80/udp", "8080:80/tcp", "80/tcp", "127.0.0.1::80/udp", "[2001:db8::5]::80/tcp"}) {
    EXPECT_EQ(to_string(parse_publish(form, "-p")), form);
  }
}

TEST(Publish, RefusesBadInputWithOneLine) {
  EXPECT_EQ(error_of([] { parse_publish("70000:80", "-p"); }), "-p: host port '70000' is not 1-65535");
  EXPECT_EQ(error_of([] { parse_publish("8080:0", "-p"); }), "-p: container port '0' is not 1-65535");
  EXPECT_EQ(error_of([] { parse_publish("8080:80/sctp", "-p"); }), "-p: protocol 'sctp' is not tcp or udp");
  EXPECT_EQ(error_of([] { parse_publish("0", "-p"); }), "-p: container port '0' is not 1-65535");
  EXPECT_EQ(error_of([] { parse_publish("[::1]:80", "-p"); }), "-p: '[::1]:80' is not [IP]:HOST:CONTAINER");
  EXPECT_EQ(error_of([] { parse_publish("1.2.3:80:80", "-p"); }),
            "-p: malformed IPv4 address '1.2.3' (IPv6: [ADDR]:HOST:CONTAINER)");
  EXPECT_EQ(error_of([] { parse_publish("[::1:80:80", "-p"); }), "-p: '[::1:80:80' is not [IP]:HOST:CONTAINER");
  // (parsed: pasta serves it; a bridge refuses it where the network is resolved)
  EXPECT_EQ(parse_publish("[::1]:8080:80", "-p").host_ip, parse_ip("::1"));
}

TEST(Egress, ParsesCidrsNamesWildcardsAndPorts) {
  EgressRule cidr = parse_egress_rule("10.0.0.0/8", "e");
  EXPECT_EQ(cidr.kind, EgressRule::Kind::kCidr);
  EXPECT_EQ(cidr.cidr.to_string(), "10.0.0.0/8");
  EXPECT_FALSE(cidr.port);
  EXPECT_EQ(parse_egress_rule("203.0.113.5:443", "e").port, 443);
  EXPECT_EQ(parse_egress_rule("203.0.113.5:443", "e").cidr.to_string(), "203.0.113.5/32");
  EXPECT_EQ(parse_egress_rule("2001:db8::/32", "e").cidr.to_string(), "2001:db8::/32");
  EXPECT_EQ(parse_egress_rule("[2001:db8::/32]:443", "e").port, 443);
  EgressRule name = parse_egress_rule("PyPI.org.", "e");
  EXPECT_EQ(name.kind, EgressRule::Kind::kName);
  EXPECT_EQ(name.name, "pypi.org");
  EgressRule wild = parse_egress_rule("*.example.com:443", "e");
  EXPECT_EQ(wild.kind, EgressRule::Kind::kWildcard);
  EXPECT_EQ(wild.name, "example.com");
  EXPECT_EQ(wild.port, 443);
  for (const char* text : {"10.0.0.0/8", "[2001:db8::/32]:443", "*.example.com:443", "pypi.org", "203.0.113.5/32:80"}) {
    EXPECT_EQ(parse_egress_rule(to_string(parse_egress_rule(text, "e")), "e"), parse_egress_rule(text, "e")) << text;
  }
}

TEST(Egress, RefusesBadInputWithOneLine) {
  EXPECT_EQ(error_of([] { parse_egress_rule("10.0.0.0/33", "--egress-allow"); }),
            "--egress-allow: malformed CIDR '10.0.0.0/33': prefix length '33' is not 0-32");
  EXPECT_EQ(error_of([] { parse_egress_rule("10.0.0.300", "--egress-allow"); }),
            "--egress-allow: malformed CIDR '10.0.0.300': malformed address '10.0.0.300'");
  EXPECT_EQ(error_of([] { parse_egress_rule("example.com:65536", "--egress-allow"); }),
            "--egress-allow: egress port '65536' is not 1-65535");
  EXPECT_EQ(error_of([] { parse_egress_rule("api.*.example.com", "--egress-allow"); }),
            "--egress-allow: 'api.*.example.com': a wildcard is allowed only as the whole first label (*.example.com)");
  EXPECT_EQ(error_of([] { parse_egress_rule("*example.com", "--egress-allow"); }),
            "--egress-allow: '*example.com': a wildcard is allowed only as the whole first label (*.example.com)");
  EXPECT_EQ(error_of([] { parse_egress_rule("*.*.example.com", "--egress-allow"); }),
            "--egress-allow: '*.*.example.com': a wildcard is allowed only as the whole first label (*.example.com)");
  EXPECT_EQ(error_of([] { parse_egress_rule("exa_mple.com", "--egress-allow"); }),
            "--egress-allow: 'exa_mple.com' is neither a CIDR nor a valid host name");
  EXPECT_EQ(error_of([] { parse_egress_rule("-bad.com", "--egress-allow"); }),
            "--egress-allow: '-bad.com' is neither a CIDR nor a valid host name");
  EXPECT_EQ(error_of([] { parse_egress_rule("", "--egress-allow"); }), "--egress-allow: empty egress rule");
}

TEST(NetworkRequest, RefusesASubnetOverlappingAHostRoute) {
  NetworkRequest request;
  std::vector<HostRoute> routes = {{*parse_cidr("0.0.0.0/0").cidr, "eth0"},     // default: ignored
                                   {*parse_cidr("fe80::/64").cidr, "eth0"},     // link scope: ignored
                                   {*parse_cidr("10.231.0.0/16").cidr, "nucleus0"},  // the bridge's own
                                   {*parse_cidr("192.168.1.0/24").cidr, "eth0"}};
  EXPECT_NO_THROW(validate_network_request(request, routes));
  routes.push_back({*parse_cidr("10.0.0.0/8").cidr, "wg0"});
  EXPECT_EQ(error_of([&] { validate_network_request(request, routes); }),
            "bridge subnet 10.231.0.0/16: overlaps the host's route to 10.0.0.0/8 on wg0");
  routes.pop_back();
  routes.push_back({*parse_cidr("fd6e:7563:6c65::/48").cidr, "tun0"});
  EXPECT_EQ(error_of([&] { validate_network_request(request, routes); }),
            "bridge subnet fd6e:7563:6c65::/64: overlaps the host's route to fd6e:7563:6c65::/48 on tun0");
}

TEST(NetworkRequest, RefusesTinySubnetsAndAPortPublishedTwice) {
  NetworkRequest request;
  request.subnet4 = *parse_cidr("10.1.2.0/30").cidr;
  EXPECT_EQ(error_of([&] { validate_network_request(request, {}); }),
            "bridge subnet 10.1.2.0/30: an IPv4 subnet needs a prefix of /29 or shorter");
  request = NetworkRequest{};
  request.publish = {parse_publish("8080:80", "-p"), parse_publish("127.0.0.1:8080:81", "-p")};
  EXPECT_EQ(error_of([&] { validate_network_request(request, {}); }), "--publish: host port 8080/tcp is published twice");
  request.publish[1].transport = Transport::kUdp;
  EXPECT_NO_THROW(validate_network_request(request, {}));
}

TEST(NetworkRequest, PolicyOnlyWithRulesOrDefaultDeny) {
  NetworkRequest request;
  EXPECT_FALSE(request.enforces_policy());
  request.default_deny = true;
  EXPECT_TRUE(request.enforces_policy());
  request = NetworkRequest{};
  request.egress.push_back(parse_egress_rule("pypi.org", "e"));
  EXPECT_TRUE(request.enforces_policy());
}

TEST(ExtraHost, DockersFormsAndTheirRefusals) {
  EXPECT_EQ(parse_extra_host("db:192.0.2.7", "--add-host"), (ExtraHost{"db", parse_ip("192.0.2.7")}));
  EXPECT_EQ(parse_extra_host("db=192.0.2.7", "--add-host"), (ExtraHost{"db", parse_ip("192.0.2.7")}));
  EXPECT_EQ(parse_extra_host("my6:2001:db8::33", "--add-host"), (ExtraHost{"my6", parse_ip("2001:db8::33")}));
  EXPECT_EQ(parse_extra_host("my6:[2001:db8::33]", "--add-host"), (ExtraHost{"my6", parse_ip("2001:db8::33")}));
  EXPECT_EQ(parse_extra_host("host.docker.internal:host-gateway", "--add-host"), (ExtraHost{"host.docker.internal", std::nullopt}));
  for (const char* form : {"db:192.0.2.7", "gw:host-gateway", "my6:2001:db8::33"}) {
    EXPECT_EQ(to_string(parse_extra_host(form, "--add-host")), form);
  }
  EXPECT_EQ(error_of([] { parse_extra_host("db", "--add-host"); }), "--add-host: 'db' is not NAME:IP");
  EXPECT_EQ(error_of([] { parse_extra_host("db:nope", "--add-host"); }), "--add-host: 'nope' is not an IP address or host-gateway");
  EXPECT_EQ(parse_extra_host("My_DB:192.0.2.7", "--add-host"), (ExtraHost{"My_DB", parse_ip("192.0.2.7")}));  // as given
  EXPECT_EQ(error_of([] { parse_extra_host("bad name:192.0.2.7", "--add-host"); }), "--add-host: 'bad name' is not a host name");
  EXPECT_EQ(error_of([] { parse_extra_host("a\nb:192.0.2.7", "--add-host"); }), "--add-host: 'a\nb' is not a host name");
  EXPECT_EQ(error_of([] { parse_extra_host(":192.0.2.7", "--add-host"); }), "--add-host: '' is not a host name");
  NetworkRequest many;
  many.extra_hosts.assign(kMaxExtraHosts + 1, parse_extra_host("db:192.0.2.7", "--add-host"));
  EXPECT_EQ(error_of([&] { validate_network_request(many, {}); }), "--add-host: 129 entries; at most 128");
}

}  // namespace
}  // namespace nucleus
