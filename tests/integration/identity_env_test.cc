// Identity and environment as the workload sees them (CAP-03, ENV-01, ENV-02).
#include <gtest/gtest.h>

#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using IdentityEnv = ContainerTest;

TEST_F(IdentityEnv, UserAndGroupsAreExactlyAsConfigured) {
  Result r = run_sh("id; grep -E '^(Uid|Gid|Groups):' /proc/self/status | tr -s '\\t ' ' '",
                    {"--user", "1000:1000", "--rootfs", kRootfs});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "uid=1000(app) gid=1000(app)\n"  // busybox lists no groups: there are none
            "Uid: 1000 1000 1000 1000\nGid: 1000 1000 1000 1000\nGroups: \n");
  Result host_view = run_nucleus({"run", "-u", "1000:1000", "--", "id", "-u"});
  EXPECT_EQ(host_view.out, "1000\n");
}

TEST_F(IdentityEnv, SupplementaryGroupsAndNames) {
  Result r = run_sh("id -u; id -g; grep Groups /proc/self/status | tr -s '\\t ' ' '",
                    {"--user", "app", "--group-add", "extra", "--group-add", "7", "--rootfs", kRootfs});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1000\n1000\nGroups: 7 2000 \n");
}

TEST_F(IdentityEnv, RootInsideIsNotRootOutside) {
  Result r = run_sh("id -u; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '");
  EXPECT_EQ(r.out, "0\n 0 100000 65536\n 0 100000 65536\n");
  Result trusted = run_sh("cat /proc/self/uid_map | tr -s ' '", {"--isolation", "trusted"});
  EXPECT_EQ(trusted.out, " 0 0 4294967295\n");  // control: trusted as root has no user ns
}

TEST_F(IdentityEnv, UidsOutsideTheMappedRangeAreRefused) {
  Result r = run_nucleus({"run", "-u", "70000", "--", "true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("uid 70000 is outside the container's uids 0-65535"), std::string::npos) << r.err;
}

// ENV-01/02: loader variables never arrive, whether passed with -e or set in nucleus's
// own environment; the caller's secrets do not leak; the base set is PATH, HOME, TERM.
TEST_F(IdentityEnv, EnvironmentIsBuiltFromScratch) {
  RunOptions o;
  o.env = {{"AWS_SECRET_ACCESS_KEY", "canary"}, {"SSH_AUTH_SOCK", "/tmp/agent"},
           {"GCONV_PATH", "/x"}, {"TERM", "xterm"}};
  Result r = run_nucleus({"run", "-e", "LD_PRELOAD=/x.so", "-e", "LD_LIBRARY_PATH=/x", "-e", "GLIBC_TUNABLES=x",
                          "-e", "MINE=1", "--", "/bin/sh", "-c",
                          "cat /proc/self/environ | tr '\\0' '\\n' | cut -d= -f1 | sort | tr '\\n' ' '"},
                         o);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "HOME MINE PATH PWD TERM ");  // PWD is the shell's own
  EXPECT_NE(r.err.find("warning: dropped LD_PRELOAD"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: dropped LD_LIBRARY_PATH"), std::string::npos) << r.err;
  // PID 1's environment is nucleus's, which the workload cannot read (non-dumpable).
  Result pid1 = run_sh("cat /proc/1/environ >/dev/null 2>&1 && echo readable || echo denied");
  EXPECT_EQ(pid1.out, "denied\n");
}

TEST_F(IdentityEnv, HomeComesFromPasswdWhenVisible) {
  EXPECT_EQ(run_sh("echo $HOME", {"--rootfs", kRootfs, "-u", "app"}).out, "/home/app\n");
  EXPECT_EQ(run_sh("echo $HOME", {"--rootfs", kRootfs}).out, "/root\n");
  EXPECT_EQ(run_sh("echo $HOME").out, "/\n");  // the host view has no /root
}

}  // namespace
}  // namespace nucleus::test
