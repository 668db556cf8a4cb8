// Bad network input (issue 16's acceptance): one line naming the problem, exit 125, and
// nothing created: no bridge, no table, no lease, no helper.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/integration/network_lab.h"

namespace nucleus::test {
namespace {

struct BadInput {
  std::vector<std::string> args;
  std::string message;
};

TEST(NetworkBadInput, OneLineExit125NothingCreated) {
  if (::geteuid() != 0) GTEST_SKIP() << "network tests make namespaces: root only";
  NetworkLab lab;
  std::string c = lab.add_container();
  const std::vector<BadInput> cases = {
      {{"--egress", "10.0.0.0/33"}, "nucleus: --egress-allow: malformed CIDR '10.0.0.0/33': prefix length '33' is not 0-32\n"},
      {{"--egress", "10.0.0.1/8"}, "nucleus: --egress-allow: malformed CIDR '10.0.0.1/8': host bits set in '10.0.0.1/8' (the network is 10.0.0.0/8)\n"},
      {{"--publish", "70000:80"}, "nucleus: --publish: host port '70000' is not 1-65535\n"},
      {{"--egress", "example.com:0"}, "nucleus: --egress-allow: egress port '0' is not 1-65535\n"},
      {{"--egress", "api.*.example.com"}, "nucleus: --egress-allow: 'api.*.example.com': a wildcard is allowed only as the whole first label (*.example.com)\n"},
      {{"--subnet4", "198.51.100.0/25"}, "nucleus: bridge subnet 198.51.100.0/25: overlaps the host's route to 198.51.100.0/24 on up0\n"},
      {{"--subnet6", "2001:db8:ff::/64"}, "nucleus: bridge subnet 2001:db8:ff::/64: overlaps the host's route to 2001:db8:ff::/64 on up0\n"},
  };
  for (const BadInput& bad : cases) {
    CommandResult failure;
    NetworkLab::Attached attached = lab.attach(c, "bad", bad.args, &failure);
    EXPECT_EQ(attached.driver, -1);
    EXPECT_EQ(failure.status, 125) << bad.args.back();
    EXPECT_EQ(failure.output, bad.message);
    EXPECT_EQ(lab.leftovers_with_base(), "") << bad.args.back();
  }
}

}  // namespace
}  // namespace nucleus::test
