// User-mode networking (pasta) in the lab: the container's traffic reaches the upstream
// through pasta, published ports answer on the host's addresses and loopback, egress rules
// are refused, release stops pasta. The container is a user and network namespace made by
// `unshare -Urn`; the caller here is root (pasta --runas 0), because this machine's
// /dev/net/tun is root-only (mode 0600), so a non-root pasta cannot open it: where it is
// 0666 (Debian's default), the same API runs for a non-root caller.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/integration/network_lab.h"

namespace nucleus::test {
namespace {

TEST(NetworkUserMode, PastaCarriesTrafficAndPublishedPortsAndRefusesEgressRules) {
  if (::geteuid() != 0) GTEST_SKIP() << "the lab makes namespaces: root only";
  if (::access("/usr/bin/pasta", X_OK) != 0) GTEST_SKIP() << "pasta (Debian passt) is not installed";
  NetworkLab lab;
  pid_t container = lab.start_user_container();
  ASSERT_GT(container, 0);
  std::string pid = std::to_string(container);

  CommandResult refused = lab.run_in(lab.host(), {lab.driver(), "user-attach", "--pid", pid, "--id", "u1", "--state-dir",
                                                  lab.state_dir(), "--root", "--egress", "pypi.org"});
  EXPECT_EQ(refused.status, 125);
  EXPECT_EQ(refused.output, "nucleus: --egress-allow: egress rules need bridge networking (root): user-mode networking "
                            "(pasta) cannot enforce them\n");

  pid_t pasta = lab.user_attach(container, "u1", {"--publish", "8080:" + std::to_string(kEchoPort)});
  ASSERT_GT(pasta, 0);
  CommandResult out = lab.run_command_as_container(container, {lab.driver(), "probe", "tcp", Upstream::kAllowed,
                                                               std::to_string(kEchoPort)});
  EXPECT_NE(out.output.find(std::string(Upstream::kAllowed) + " ping"), std::string::npos) << out.output;
  for (const char* address : {"127.0.0.1", Upstream::kHostUplink}) {
    CommandResult published = lab.driver_in(lab.host(), {"probe", "tcp", address, "8080"});
    EXPECT_EQ(published.status, 0) << address << ": " << published.output;
    EXPECT_NE(published.output.find(" ping"), std::string::npos) << published.output;
  }
  CommandResult outside = lab.driver_in(lab.upstream(), {"probe", "tcp", Upstream::kHostUplink, "8080"});
  EXPECT_NE(outside.output.find(" ping"), std::string::npos) << outside.output;

  ASSERT_TRUE(lab.release_user(pasta));
  EXPECT_TRUE(lab.wait_gone(pasta));
  EXPECT_NE(lab.driver_in(lab.host(), {"probe", "tcp", "127.0.0.1", "8080"}).status, 0);
}

}  // namespace
}  // namespace nucleus::test
