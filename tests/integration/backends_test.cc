// The foundation's behaviours on both backends (issue #4: "the integration suite is
// parameterised over both backends"). Each test runs in the busybox rootfs: the gVisor of
// Debian 12 (2022-12-19) cannot run Debian 12's own coreutils, which pass statx a flag it
// rejects (docs/security-model.md).
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/integration/leak_check.h"
#include "tests/integration/probe.h"

namespace nucleus::test {
namespace {

class Backends : public ContainerTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> out = {"--backend", GetParam(), "--rootfs", kRootfs};
    if (GetParam() == "gvisor") out = {"--isolation", "untrusted", "--rootfs", kRootfs};
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  }
  Result sh(const std::string& script, std::vector<std::string> extra = {}, const RunOptions& o = {}) const {
    return run_sh(script, args(std::move(extra)), o);
  }
  Result run(std::vector<std::string> command, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"run"};
    for (const std::string& x : args(std::move(extra))) a.push_back(x);
    a.push_back("--");
    a.insert(a.end(), command.begin(), command.end());
    return run_nucleus(a);
  }
};

TEST_P(Backends, ExitStatusesPropagate) {
  EXPECT_EQ(sh("exit 0").status, 0);
  EXPECT_EQ(sh("exit 3").status, 3);
  EXPECT_EQ(sh("kill -KILL $$").status, 137);
  Result missing = run({"/nonexistent"});
  EXPECT_EQ(missing.status, 127);
  EXPECT_NE(missing.err.find("nucleus: exec /nonexistent: No such file or directory"), std::string::npos)
      << missing.err;
  EXPECT_EQ(run({"/etc/passwd"}).status, 126);
}

TEST_P(Backends, IdentityIsExact) {
  Result r = sh("id -u; id -g; grep Groups /proc/self/status | tr -s '\\t' ' '",
                {"--user", "1000:1000", "--group-add", "2000"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1000\n1000\nGroups: 2000 \n");
}

TEST_P(Backends, EnvironmentIsFiltered) {
  RunOptions o;
  o.env = {{"AWS_SECRET_ACCESS_KEY", "canary"}, {"TERM", "xterm"}};
  Result r = sh("env | cut -d= -f1 | sort | tr '\\n' ' '", {"-e", "LD_PRELOAD=/x.so", "-e", "MINE=1"}, o);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "HOME MINE PATH PWD SHLVL TERM ");
  EXPECT_NE(r.err.find("dropped LD_PRELOAD"), std::string::npos) << r.err;
}

TEST_P(Backends, HostnameIsSet) {
  EXPECT_EQ(sh("hostname", {"--hostname", "box-7"}).out, "box-7\n");
}

TEST_P(Backends, NoNetworkButLoopback) {
  Result r = sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "lo\n");
  // gVisor's netstack says EHOSTUNREACH where Linux says ENETUNREACH.
  expect_rows({{"NET-01", "connect 1.1.1.1 53", GetParam() == "gvisor" ? "EHOSTUNREACH" : "ENETUNREACH"}},
              {"--backend", GetParam(), "--isolation",
                                                                  GetParam() == "gvisor" ? "untrusted" : "standard"});
}

// The host view (no --rootfs): system directories yes, host data no.
TEST_P(Backends, HostViewHidesHostData) {
  std::vector<std::string> a = {"run", "--backend", GetParam(), "--", "/bin/sh", "-c",
                                "for p in /root /home /var /etc/shadow; do [ -e $p ] && echo present $p; done; "
                                "[ -x /usr/bin/env ] && echo usr-ok; read line < /etc/passwd && echo passwd-ok"};
  Result r = run_nucleus(a);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "usr-ok\npasswd-ok\n");
}

TEST_P(Backends, RootfsWritesAreEphemeral) {
  Result w = sh("echo x > /etc/new && rm /etc/rootfs-marker && cat /etc/new");
  ASSERT_EQ(w.status, 0) << w.err;
  EXPECT_EQ(w.out, "x\n");
  EXPECT_EQ(sh("cat /etc/rootfs-marker; [ -e /etc/new ] && echo leaked").out, "nucleus-test-rootfs\n");
  EXPECT_EQ(read_host_file(kRootfs + "/etc/rootfs-marker"), "nucleus-test-rootfs\n");
  Result ro = sh("touch /etc/x 2>&1; touch /tmp/y && echo tmp-ok", {"--read-only"});
  EXPECT_NE(ro.out.find("Read-only file system"), std::string::npos) << ro.out;
  EXPECT_NE(ro.out.find("tmp-ok"), std::string::npos) << ro.out;
}

TEST_P(Backends, OrphansAreReapedByTheSupervisor) {
  Result r = sh("i=0; while [ $i -lt 20 ]; do (sleep 0.01 &); i=$((i+1)); done; sleep 0.5; "
                "grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat | wc -l; cat /proc/1/cmdline | cut -c1-18");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 2), "0\n") << r.out;
}

TEST_P(Backends, SignalsToNucleusReachTheWorkload) {
  for (int sig : {SIGTERM, SIGINT}) {
    std::vector<std::string> a = {"run"};
    for (const std::string& x : args()) a.push_back(x);
    a.insert(a.end(), {"--", "/bin/sh", "-c",
                       "trap 'echo trapped; exit 42' TERM INT; echo ready; while :; do sleep 0.02; done"});
    NucleusProcess p(a);
    ASSERT_TRUE(p.wait_for_output("ready"));
    ASSERT_EQ(::kill(p.pid(), sig), 0);
    Result r = p.wait();
    EXPECT_EQ(r.status, 42) << "signal " << sig << ": " << r.err;
    EXPECT_EQ(r.out, "ready\ntrapped\n");
  }
}

TEST_P(Backends, TimeoutEndsWith124) {
  Result r = sh("sleep 30", {"--timeout", "1"});
  EXPECT_EQ(r.status, 124);
}

INSTANTIATE_TEST_SUITE_P(Both, Backends, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace nucleus::test
