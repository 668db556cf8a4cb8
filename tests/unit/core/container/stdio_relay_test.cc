// The relay nucleus puts between a sandbox and a regular-file stdio (issue 13): bytes land
// where the caller's own description puts them, stdout and stderr of one description keep
// their order, and stdin's offset ends where the reader stopped. Each case runs in a child
// whose fds 0-2 it may replace.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>

#include "core/container/stdio_relay.h"
#include "core/sys/scoped.h"
#include "tests/support/slurp.h"

namespace nucleus {
namespace {

using test::slurp;

// Runs body in a child; its return value is the child's exit code.
int in_child(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

void pump_until_quiet(StdioRelay& r) {
  for (int round = 0; round < 50; ++round) {
    std::vector<pollfd> fds;
    r.poll_fds(fds);
    if (::poll(fds.data(), fds.size(), 10) <= 0) return;
    r.pump(fds.data(), fds.size());
  }
}

TEST(StdioRelay, OutputGoesThroughTheCallersDescription) {
  TempDir dir("/tmp", "nucleus-unit-");
  std::string file = dir.path() + "/out";
  EXPECT_EQ(in_child([&] {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);  // `> f 2>&1`
    (void)!::write(1, "AAAA\n", 5);
    StdioRelay r = StdioRelay::for_regular_files();
    if (!r.active() || r.child_fds()[1] < 0 || r.child_fds()[2] != r.child_fds()[1]) return 1;
    int sandbox = ::dup(r.child_fds()[1]);  // what the sandbox would hold
    r.started();
    (void)!::write(sandbox, "1\n", 2);
    (void)!::write(sandbox, "E\n", 2);  // its stderr: the same pipe
    (void)!::write(sandbox, "2\n", 2);
    pump_until_quiet(r);
    ::close(sandbox);
    r.finish(100);
    (void)!::write(1, "BBBB\n", 5);
    return 0;
  }), 0);
  EXPECT_EQ(slurp(file), "AAAA\n1\nE\n2\nBBBB\n");
}

TEST(StdioRelay, StdinStartsAtTheCallersOffsetAndEndsWhereTheReaderStopped) {
  TempDir dir("/tmp", "nucleus-unit-");
  std::string file = dir.path() + "/in";
  std::ofstream(file) << "abcdefgh";
  EXPECT_EQ(in_child([&] {
    int fd = ::open(file.c_str(), O_RDONLY);
    ::dup2(fd, 0);
    // Its stdout and stderr no regular files, whatever the test runner's are (`> log`).
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    char two[2];
    if (::read(0, two, 2) != 2) return 1;  // the caller read "ab"
    StdioRelay r = StdioRelay::for_regular_files();
    if (r.child_fds()[0] < 0 || r.child_fds()[1] >= 0) return 2;
    int sandbox = ::dup(r.child_fds()[0]);
    r.started();
    pump_until_quiet(r);
    char got[3] = {};
    if (::read(sandbox, got, 3) != 3 || std::string(got, 3) != "cde") return 3;  // the workload read "cde"
    r.finish(0);
    ::close(sandbox);
    char rest[8] = {};
    return ::read(0, rest, sizeof rest) == 3 && std::string(rest, 3) == "fgh" ? 0 : 4;
  }), 0);
}

TEST(StdioRelay, PipesAndTerminalsAreLeftAlone) {
  EXPECT_EQ(in_child([] {
    int p[2];
    if (::pipe(p) != 0) return 1;
    ::dup2(p[0], 0);
    ::dup2(p[1], 1);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    StdioRelay r = StdioRelay::for_regular_files();
    return r.active() ? 2 : 0;
  }), 0);
}

}  // namespace
}  // namespace nucleus
