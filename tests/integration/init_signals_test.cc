// PID 1, signals and exit statuses, end to end (security-bar SIG-01..SIG-04).
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using InitAndSignals = ContainerTest;

TEST_F(InitAndSignals, ExitStatusesPropagate) {
  EXPECT_EQ(run_sh("exit 0").status, 0);
  EXPECT_EQ(run_sh("exit 3").status, 3);
  EXPECT_EQ(run_sh("exit 255").status, 255);
  EXPECT_EQ(run_sh("kill -KILL $$").status, 137);
  EXPECT_EQ(run_sh("kill -SEGV $$").status, 139);
}

TEST_F(InitAndSignals, CommandNotFoundIs127AndNotExecutableIs126) {
  Result missing = run_nucleus({"run", "--", "/nonexistent"});
  EXPECT_EQ(missing.status, 127);
  EXPECT_EQ(missing.err, "nucleus: exec /nonexistent: No such file or directory\n");
  Result on_path = run_nucleus({"run", "--", "no-such-command-anywhere"});
  EXPECT_EQ(on_path.status, 127);
  Result dir = run_nucleus({"run", "--", "/etc"});
  EXPECT_EQ(dir.status, 126);
  EXPECT_EQ(dir.err, "nucleus: exec /etc: Permission denied\n");
  Result noexec = run_nucleus({"run", "--rootfs", kRootfs, "--", "/etc/passwd"});
  EXPECT_EQ(noexec.status, 126);
  Result no_init = run_nucleus({"run", "--no-init", "--", "/nonexistent"});
  EXPECT_EQ(no_init.status, 127);
}

// SIG-01: signals sent to `nucleus` reach a workload that traps them.
TEST_F(InitAndSignals, SignalsToNucleusReachTheWorkload) {
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    NucleusProcess p({"run", "--rootfs", kRootfs, "--", "/bin/sh", "-c",
                      "trap 'echo trapped; exit 42' TERM INT HUP USR1; echo ready; "
                      "while :; do sleep 0.02; done"});
    ASSERT_TRUE(p.wait_for_output("ready")) << "signal " << sig;
    ASSERT_EQ(::kill(p.pid(), sig), 0);
    Result r = p.wait();
    EXPECT_EQ(r.status, 42) << "signal " << sig << ": " << r.err;
    EXPECT_EQ(r.out, "ready\ntrapped\n");
  }
}

// Control for SIG-01: a workload that does not trap TERM dies of it: 143.
TEST_F(InitAndSignals, UntrappedTermKillsTheWorkload) {
  NucleusProcess p({"run", "--", "/bin/sh", "-c", "echo ready; exec sleep 60"});
  ASSERT_TRUE(p.wait_for_output("ready"));
  ::kill(p.pid(), SIGTERM);
  EXPECT_EQ(p.wait().status, 143);
}

// SIG-03: a zombie factory leaves no zombie behind while the workload still runs.
TEST_F(InitAndSignals, OrphanedGrandchildrenAreReaped) {
  Result r = run_sh(
      "i=0; while [ $i -lt 50 ]; do (sleep 0.01 &); i=$((i+1)); done; sleep 0.5; "
      "grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat | wc -l",
      {"--rootfs", kRootfs});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
}

// Control for SIG-03: with --no-init and a PID 1 that never waits (exec sleep), the same
// factory does leave zombies, so the test above can fail.
TEST_F(InitAndSignals, WithoutTheSupervisorZombiesStay) {
  Result r = run_sh(
      "i=0; while [ $i -lt 5 ]; do (sleep 0.2 &); i=$((i+1)); done; "
      "(sleep 0.6; grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat | wc -l) & exec sleep 1",
      {"--rootfs", kRootfs, "--no-init"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out, "0\n");
}

// SIG-04: a daemonized grandchild dies with the container; nucleus returns when main exits.
TEST_F(InitAndSignals, DaemonsDoNotOutliveTheContainer) {
  Result r = run_sh("setsid sleep 300 & echo started", {"--rootfs", kRootfs});
  EXPECT_EQ(r.status, 0);
  // The leak check of the fixture finds any nucleus-init left; a stray sleep would be in
  // the pid namespace that died with PID 1.
}

TEST_F(InitAndSignals, KillingNucleusKillsTheContainer) {
  NucleusProcess p({"run", "--rootfs", kRootfs, "--", "/bin/sh", "-c", "echo ready; sleep 300"});
  ASSERT_TRUE(p.wait_for_output("ready"));
  ::kill(p.pid(), SIGKILL);
  Result r = p.wait();
  EXPECT_EQ(r.status, 137);
  // PID 1 got PDEATHSIG: poll (no timed assertion) until no nucleus-init remains.
  for (int i = 0; i < 500 && !take_leak_snapshot().processes.empty(); ++i) ::usleep(10000);
}

TEST_F(InitAndSignals, TimeoutTerminatesWith124) {
  Result r = run_nucleus({"run", "--timeout", "1", "--", "/bin/sh", "-c", "sleep 30"});
  EXPECT_EQ(r.status, 124);
  EXPECT_NE(r.err.find("timed out after 1s"), std::string::npos) << r.err;
  // A workload that ignores TERM is killed 2 s later.
  Result stubborn = run_nucleus({"run", "--timeout", "1", "--", "/bin/sh", "-c", "trap '' TERM; sleep 30"});
  EXPECT_EQ(stubborn.status, 124);
}

}  // namespace
}  // namespace nucleus::test
