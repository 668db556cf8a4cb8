// OCI hooks as nucleus runs them on both backends: the state on stdin, the timeout, and a
// failure told by its exit code or signal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "config/oci/oci_hooks.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"

namespace nucleus {
namespace {

HookSpec sh(const std::string& script, std::optional<int> timeout = std::nullopt) {
  return HookSpec{"/bin/sh", {"sh", "-c", script}, {}, timeout};
}

std::string failure_of(const HookSpec& hook) {
  try {
    run_hooks({hook}, "prestart", "{}", true);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Hooks, AFailureSaysHowItEnded) {
  EXPECT_EQ(describe_hook_status(3 << 8), "exited with code 3");
  EXPECT_EQ(describe_hook_status(SIGKILL), "was killed by signal 9 (KILL)");
  EXPECT_EQ(failure_of(sh("exit 3")), "prestart hook /bin/sh: failed: it exited with code 3");
  EXPECT_EQ(failure_of(sh("kill -TERM $$")), "prestart hook /bin/sh: failed: it was killed by signal 15 (TERM)");
  EXPECT_EQ(failure_of(HookSpec{"/nonexistent/hook", {}, {}, {}}),
            "prestart hook /nonexistent/hook: failed: it exited with code 127 (not found or not executable?)");
  EXPECT_EQ(failure_of(sh("exit 0")), "");
}

// `run` blocks the signals it forwards (SIGTERM among them) while it holds a container; a
// hook starts with none blocked, as the workload does.
TEST(Hooks, AHookDoesNotInheritTheBlockedSignals) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &term, &old), 0);
  std::string failure = failure_of(sh("kill -TERM $$; exit 0"));
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(failure, "prestart hook /bin/sh: failed: it was killed by signal 15 (TERM)");
}

TEST(Hooks, TheTimeoutHoldsAndKillsWhatTheHookStarted) {
  TempDir dir("/tmp", "nucleus-unit-");
  std::string pid_file = dir.path() + "/sleeper";
  EXPECT_EQ(failure_of(sh("sleep 30 & echo $! > " + pid_file + "; wait", 1)),
            "prestart hook /bin/sh: did not finish within 1s (killed)");
  std::ifstream in(pid_file);
  pid_t sleeper = 0;
  ASSERT_TRUE(in >> sleeper);
  // The hook's own child went with it: gone, or a zombie until init reaps it. (SIGKILL is
  // acted on when the sleeper next runs: a bounded wait for that, not a timing.)
  auto alive = [&] {
    std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
    std::string pid, comm, state;
    return static_cast<bool>(stat >> pid >> comm >> state) && state != "Z";
  };
  for (int i = 0; i < 500 && alive(); ++i) ::usleep(10000);
  EXPECT_FALSE(alive()) << "the hook's sleep outlived its timeout";
}

TEST(Hooks, TheStateArrivesOnStdinAndANonReaderIsNoHarm) {
  TempDir dir("/tmp", "nucleus-unit-");
  std::string out = dir.path() + "/state";
  run_hooks({sh("cat > " + out)}, "poststart", "{\"id\":\"x\"}", true);
  std::ifstream in(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "{\"id\":\"x\"}");
  // A hook that exits without reading a large state: EPIPE for nucleus, not SIGPIPE.
  run_hooks({sh("exit 0")}, "poststart", std::string(1 << 20, 'x'), true);
}

TEST(Hooks, ANonFatalPhaseGoesOn) {
  TempDir dir("/tmp", "nucleus-unit-");
  std::string mark = dir.path() + "/second";
  run_hooks({sh("exit 1"), sh("touch " + mark)}, "poststop", "{}", false);
  EXPECT_TRUE(std::ifstream(mark).good());
}

}  // namespace
}  // namespace nucleus
