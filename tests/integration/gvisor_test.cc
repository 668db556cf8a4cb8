// What only the gVisor backend does: proof of the backend (GV-01), the seccomp profile and
// masks enforced inside the Sentry, refusals, and cleanup after failures, a killed runsc
// and a killed nucleus.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"
#include "tests/integration/probe.h"

namespace nucleus::test {
namespace {

using Gvisor = ContainerTest;
const std::vector<std::string> kUntrusted = {"--isolation", "untrusted"};

// GV-01: a gvisor-labelled run sees the Sentry's kernel, a native one the host's.
TEST_F(Gvisor, Gv01TheBackendIsTheOneAskedFor) {
  utsname host;
  ::uname(&host);
  // (syslog is refused by the profile: the Sentry's own log is read with the filter off)
  Result g = run_sh("dmesg | head -1; uname -r", {"--isolation", "untrusted", "--rootfs", kRootfs, "--seccomp", "unconfined"});
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_NE(g.out.find("Starting gVisor"), std::string::npos) << g.out;
  EXPECT_EQ(g.out.find(host.release), std::string::npos) << g.out;
  Result n = run_sh("uname -r", {"--rootfs", kRootfs});
  EXPECT_EQ(n.out, std::string(host.release) + "\n");
}

// Inside the Sentry too, the default profile refuses, loaded by nucleus-init: with its
// errno values (clone3 ENOSYS) and argument conditions (TIOCSTI, whatever fd 0 is).
TEST_F(Gvisor, TheSeccompProfileHoldsInsideTheSandbox) {
  expect_rows({{"SYS-01", "sys mount", "EPERM"},
               {"SYS-02", "unshare USER", "EPERM"},
               {"SYS-04", "setns /proc/self/ns/net", "EPERM"},
               {"SYS-19", "sys syslog", "EPERM"},
               {"SYS-09", "sys keyctl", "EPERM"},
               {"SYS-07", "sys bpf", "EPERM"},
               {"SYS-10", "ptrace 1", "EPERM"},
               {"SYS-03", "clone NEWNS", "EPERM"},
               {"SYS-18", "socket 40 1 0", "EPERM"},
               {"SYS-03", "clone3", "ENOSYS"},
               {"SYS-15", "tty TIOCSTI", "EPERM"},
               {"control", "clone 0", "0"},
               {"control", "sys chmod", "EFAULT"}},
              kUntrusted);
  // With the filter off, the Sentry itself answers (and the row shows the filter mattered).
  expect_rows({{"SYS-09", "sys keyctl", "EACCES"}}, {"--isolation", "untrusted", "--seccomp", "unconfined"});
}

// The Sentry's /proc and /sys never had the masked entries: each is absent or empty. The
// control shows reads work (cpuinfo has content), and /proc/sys stays read-only.
TEST_F(Gvisor, MaskedPathsShowNothingAndProcSysIsReadOnly) {
  std::string script;
  for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/interrupts",
                        "/proc/latency_stats", "/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}) {
    script += std::string("if [ -d ") + p + " ]; then echo \"" + p + " $(ls -A " + p + " | wc -l)\"; elif [ -e " + p +
              " ]; then echo \"" + p + " $(wc -c < " + p + ")\"; fi; ";
  }
  script += "echo cpuinfo $(wc -c < /proc/cpuinfo); /nprobe write-back /proc/sys/kernel/hostname; "
            "grep -E '^(Seccomp|CapEff)' /proc/self/status";
  Result r = run_sh(script, {"--isolation", "untrusted", "--rootfs", kRootfs});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& line : lines_of(r.out)) {
    if (line.rfind("/proc", 0) == 0 || line.rfind("/sys", 0) == 0) {
      EXPECT_EQ(line.substr(line.rfind(' ')), " 0") << line;
    }
  }
  EXPECT_EQ(r.out.find("cpuinfo 0\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("write-back ret=-1 errno=0"), std::string::npos);
  EXPECT_NE(r.out.find("write-back ret=-1"), std::string::npos) << "/proc/sys must refuse writes: " << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
}

TEST_F(Gvisor, RefusesWhatItCannotApply) {
  auto refused = [](std::vector<std::string> extra, const std::string& needle) {
    std::vector<std::string> args = {"run", "--isolation", "untrusted"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "/bin/true"});
    Result r = run_nucleus(args);
    EXPECT_EQ(r.status, 125);
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  refused({"--landlock", "on"}, "Landlock");
  refused({"--sd-notify"}, "--sd-notify");
  refused({"--no-init"}, "nucleus-init");
  refused({"--backend", "native"}, "untrusted level runs only under gVisor");
  refused({"--gvisor-platform", "systrap"}, "does not offer systrap");
  TempDir dir("/tmp", "nucleus-it-");
  std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  refused({"-v", fifo + ":/f"}, "gVisor binds only directories and regular files");
  RunOptions unpriv;
  unpriv.unprivileged = true;
  Result r = run_nucleus({"run", "--isolation", "untrusted", "--", "/bin/true"}, unpriv);
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("runsc needs root"), std::string::npos) << r.err;
}

// A failure after the state exists leaves nothing (the fixture checks).
TEST_F(Gvisor, AFailedStartLeavesNothing) {
  TempDir dir("/tmp", "nucleus-it-");
  std::string profile = dir.path() + "/bad.json";
  std::FILE* f = std::fopen(profile.c_str(), "w");
  std::fputs("{\"defaultAction\": \"SCMP_ACT_NOPE\"}", f);
  std::fclose(f);
  Result r = run_nucleus({"run", "--isolation", "untrusted", "--seccomp", profile, "--", "/bin/true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("unsupported action"), std::string::npos) << r.err;
}

pid_t runsc_child_of(pid_t parent) {
  DIR* proc = ::opendir("/proc");
  pid_t found = -1;
  while (dirent* e = proc ? ::readdir(proc) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string stat = read_host_file(std::string("/proc/") + e->d_name + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    if (std::atoi(stat.c_str() + close + 4) == parent && stat.find("(runsc)") != std::string::npos) {
      found = std::atoi(e->d_name);
    }
  }
  if (proc) ::closedir(proc);
  return found;
}

// runsc crashing mid-run: nucleus reports, deletes the container's runsc state, and leaves
// nothing (the fixture's leak check includes runsc's sandbox and gofer processes).
TEST_F(Gvisor, ACrashedRunscIsCleanedUp) {
  NucleusProcess p({"run", "--isolation", "untrusted", "--rootfs", kRootfs, "--", "/bin/sh", "-c",
                    "echo ready; sleep 60"});
  ASSERT_TRUE(p.wait_for_output("ready"));
  pid_t runsc = runsc_child_of(p.pid());
  ASSERT_GT(runsc, 0);
  ::kill(runsc, SIGKILL);  // a child of the nucleus this test started
  Result r = p.wait();
  EXPECT_EQ(r.status, 137);
  for (int i = 0; i < 500 && !take_leak_snapshot().processes.empty(); ++i) ::usleep(10000);
}

// Docker's set, less NET_RAW: runsc drops it unless given --net-raw, which nucleus never is.
TEST_F(Gvisor, TrustedOnGvisorKeepsDockersCapabilitiesButNetRaw) {
  Result r = run_sh("grep CapEff /proc/self/status", {"--isolation", "trusted", "--backend", "gvisor", "--rootfs", kRootfs});
  EXPECT_EQ(r.out, "CapEff:\t00000000a80405fb\n") << r.err;
}

}  // namespace
}  // namespace nucleus::test
