// The PID-1 supervisor with real processes: the test forks a "supervisor process" that runs
// supervise() as a child subreaper (what nucleus-init does when it is not PID 1), then
// observes its exit code, signal forwarding and reaping from outside.
#include "core/init/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "core/init/signals.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"

namespace nucleus::init {
namespace {

int exec_shell(void* ctx) noexcept {
  const char* script = static_cast<const char*>(ctx);
  execl("/bin/sh", "sh", "-c", script, static_cast<char*>(nullptr));
  return 127;
}

// Forks a process that supervises `sh -c script` and exits with supervise()'s code.
pid_t start_supervisor(const std::string& script) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    int code = 125;
    int err = supervise(exec_shell, nullptr, const_cast<char*>(script.c_str()), &code);
    _exit(err == 0 ? code : 200);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "the supervisor itself must exit, not die";
  return WEXITSTATUS(status);
}

bool wait_for_file(const std::string& path) {
  for (int i = 0; i < 1000; ++i) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(Supervisor, ReturnsTheWorkloadsExitStatus) {
  for (int code : {0, 1, 3, 42, 255}) {
    EXPECT_EQ(wait_exit_code(start_supervisor("exit " + std::to_string(code))), code);
  }
}

TEST(Supervisor, DeathBySignalBecomes128PlusN) {
  EXPECT_EQ(wait_exit_code(start_supervisor("kill -KILL $$")), 137);
  EXPECT_EQ(wait_exit_code(start_supervisor("kill -SEGV $$")), 139);
  EXPECT_EQ(wait_exit_code(start_supervisor("kill -TERM $$")), 143);
}

TEST(Supervisor, StartFailureIsTheWorkloadsStatus) {
  EXPECT_EQ(wait_exit_code(start_supervisor("exec /nonexistent/command")), 127);
}

// Each forwarded signal reaches a workload that traps it: the workload exits with a code
// only its trap produces.
TEST(Supervisor, ForwardsEverySignalInTheTable) {
  for (const SignalName& s : kForwardedSignals) {
    TempDir dir("/tmp", "nucleus-unit-");
    std::string ready = dir.path() + "/ready";
    pid_t sup = start_supervisor("trap 'exit 77' " + std::string(s.name) + "; touch " + ready +
                                 "; while :; do sleep 0.02; done");
    ASSERT_TRUE(wait_for_file(ready)) << s.name;
    ASSERT_EQ(kill(sup, s.number), 0);
    EXPECT_EQ(wait_exit_code(sup), 77) << "SIG" << s.name << " was not forwarded";
  }
}

// Orphaned grandchildren are reparented to the supervisor (subreaper here, PID 1 in a
// container) and must not stay zombies: the workload looks for zombie children of its
// parent while it still runs, and exits 1 if it finds any.
TEST(Supervisor, ReapsOrphanedGrandchildren) {
  const char* script =
      "for i in 1 2 3 4 5 6 7 8; do (sleep 0.05 &) ; done; sleep 0.6; "
      "z=$(awk -v p=$PPID '$3 == \"Z\" && $4 == p' /proc/[0-9]*/stat 2>/dev/null | wc -l); "
      "orphans=$(awk -v p=$PPID '$4 == p' /proc/[0-9]*/stat 2>/dev/null | wc -l); "
      "echo zombies=$z siblings=$orphans >&2; [ \"$z\" = 0 ]";
  EXPECT_EQ(wait_exit_code(start_supervisor(script)), 0);
}

// Positive control for the reaping test: without a reaper the same workload does see
// zombies, so the test above can fail.
TEST(Supervisor, ReapingControlSeesZombiesWithoutAReaper) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    pid_t child = fork();
    if (child == 0) {
      // Our parent (a subreaper that never waits) collects the orphans as zombies.
      execl("/bin/sh", "sh", "-c",
            "(sleep 0.05 &); sleep 0.5; "
            "z=$(awk -v p=$PPID '$3 == \"Z\" && $4 == p' /proc/[0-9]*/stat | wc -l); [ \"$z\" -gt 0 ]",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 100);
  }
  EXPECT_EQ(wait_exit_code(pid), 0);
}

TEST(Signals, Names) {
  EXPECT_STREQ(signal_name(SIGTERM), "TERM");
  EXPECT_EQ(signal_from_text("TERM"), SIGTERM);
  EXPECT_EQ(signal_from_text("SIGKILL"), SIGKILL);
  EXPECT_EQ(signal_from_text("9"), 9);
  EXPECT_EQ(signal_from_text("65"), 0);
  EXPECT_EQ(signal_from_text("NOPE"), 0);
  EXPECT_EQ(signal_from_text(""), 0);
}

// What the supervisor does once the workload runs: its heap goes, and stays out of reach,
// so an allocation there would fault at once rather than find zeros. (What it keeps of the
// heap, the static binary's TLS and thread control block, is checked on nucleus-init
// itself: IdleFootprint; this test binary is dynamic and keeps its TLS elsewhere.)
TEST(ReleaseStartupPages, TheHeapGoesAndAnyLaterUseFaults) {
  char* before = static_cast<char*>(std::malloc(64));
  ASSERT_NE(before, nullptr);
  std::strcpy(before, "startup");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sys::release_startup_pages(/*including_heap=*/true);
    const volatile char* heap = before;
    char c = heap[0];  // must fault
    ::_exit(c == 's' ? 1 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << "status " << status;
  std::free(before);
}

}  // namespace
}  // namespace nucleus::init
