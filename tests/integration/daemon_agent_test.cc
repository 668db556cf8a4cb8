// nucleusd's execs through nucleus-agent inside each sandbox (docs/api.md, "Exec through the
// agent"), on both backends: what the agent serves, what sandbox code can and cannot reach
// of its channel, the users it leaves to `nucleus exec`, and hostile frames refused.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "tests/integration/daemon_sandbox_api.h"

namespace nucleus::test {
namespace {

using namespace sandbox_api;

TEST_P(DaemonTest, ExecThroughTheAgent) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d, {{"env", {{"B", "from-create"}}}});
  ExecResult r = exec(d, id, {{"argv", {"/bin/sh", "-c", "echo 1; echo 2 >&2; echo 3; echo 4 >&2; exit 5"}}});
  EXPECT_TRUE(r.agent) << r.body << d.log();
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.out, "1\n3\n");
  EXPECT_EQ(r.err, "2\n4\n");
  ExecResult e = exec(d, id, {{"argv", {"/bin/sh", "-c", "echo $A $B $NUCLEUS_EXEC_X; pwd; cat; echo"}},
                              {"env", {{"A", "a"}, {"NUCLEUS_EXEC_X", "x"}}}, {"cwd", "/etc"}, {"stdin", std::string(200000, 'z')}});
  EXPECT_TRUE(e.agent);
  EXPECT_EQ(e.out, "a from-create x\n/etc\n" + std::string(200000, 'z') + "\n") << e.err;
  // Each exec's environment is its own (the agent's own is back after each exec: the child
  // shares its memory until it execs), and a command is looked up in the exec's PATH.
  ExecResult after = exec(d, id, {{"argv", {"sh", "-c", "echo ${A-unset}"}}});
  EXPECT_EQ(after.out, "unset\n") << after.body;
  ExecResult path = exec(d, id, {{"argv", {"true"}}, {"env", {{"PATH", "/no/such/dir"}}}});
  EXPECT_EQ(path.exit_code, 127) << path.body;
  ExecResult sig = exec(d, id, {{"argv", {"/bin/sh", "-c", "kill -9 $$"}}});
  EXPECT_EQ(sig.exit_code, 137) << sig.body;
  // The agent ignores SIGPIPE; a command has it at its default (a shell cannot undo an
  // ignored signal it inherited, so it would live on and exit 0).
  ExecResult pipe = exec(d, id, {{"argv", {"/bin/sh", "-c", "kill -PIPE $$; exit 0"}}});
  EXPECT_EQ(pipe.exit_code, 141) << pipe.body;
  ExecResult missing = exec(d, id, {{"argv", {"/no/such/command"}}});
  EXPECT_EQ(missing.exit_code, 127) << missing.body;
  EXPECT_NE(missing.err.find("/no/such/command"), std::string::npos) << missing.body;
  ExecResult cwd = exec(d, id, {{"argv", {"/bin/true"}}, {"cwd", "/no/such/dir"}});
  EXPECT_EQ(cwd.exit_code, 125) << cwd.body;
  EXPECT_EQ(remove(d, id), 204);
  expect_no_records(d);
}

// Code in the sandbox tries the channel through /proc: PID 1's and the agent's fds.
// Natively both are non-dumpable, so their /proc/PID/fd/N can be neither resolved nor
// opened (the fd numbers may be listed), and the agent still serves. Under gVisor the
// Sentry lets the sandbox's own user open them (docs/api.md "Exec through the agent"):
// what the probe writes there reaches the daemon, which must refuse it, stay up and
// serve the sandbox through `nucleus exec`.
TEST_P(DaemonTest, SandboxCodeCannotReachTheAgentsChannel) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  const char* probe = R"(for p in 1 $PPID; do
  for n in 0 1 2 3 4 5 6 7 8 9; do
    readlink /proc/$p/fd/$n >/dev/null 2>&1 && echo "resolved $p/$n"
    (printf 'garbage-garbage-garbage' > /proc/$p/fd/$n) 2>/dev/null && echo "wrote $p/$n"
    (exec 3< /proc/$p/fd/$n) 2>/dev/null && echo "opened $p/$n"
  done
done
echo probed $PPID)";
  ExecResult r = exec(d, id, {{"argv", {"/bin/sh", "-c", probe}}});
  EXPECT_TRUE(r.agent) << r.body;
  ExecResult after = exec(d, id, {{"argv", {"/bin/echo", "still"}}});
  EXPECT_EQ(after.out, "still\n") << after.body << d.log();
  EXPECT_EQ(d.client().call("GET", "/v1/health").status, 200);
  if (backend() == "native") {
    EXPECT_EQ(r.out.rfind("probed ", 0), 0u) << r.out;  // nothing resolved, written or opened
    EXPECT_TRUE(after.agent) << after.body << d.log();
  } else if (!after.agent) {  // the probe's garbage broke the channel, maybe mid-probe
    EXPECT_NE(d.log().find("malformed frame"), std::string::npos) << d.log();
    EXPECT_TRUE(r.out.find("probed ") != std::string::npos || r.err.find("exec channel failed") != std::string::npos) << r.body;
  }
  EXPECT_EQ(remove(d, id), 204);
  expect_no_records(d);
}

// A user other than the agent's: the agent cannot change identity, `nucleus exec` serves it.
TEST_P(DaemonTest, AnotherUserFallsBackToNucleusExec) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  ExecResult r = exec(d, id, {{"argv", {"/bin/sh", "-c", "id -u; id -g"}}, {"user", "1000:1001"}});
  EXPECT_FALSE(r.agent) << r.body;
  EXPECT_EQ(r.out, "1000\n1001\n") << r.body;
  ExecResult same = exec(d, id, {{"argv", {"/bin/true"}}, {"user", "0"}});
  EXPECT_TRUE(same.agent) << same.body;
  EXPECT_EQ(remove(d, id), 204);
}

// An agent taken over by the sandbox's code: garbage instead of its hello, or an oversized
// frame once an exec runs. The daemon refuses the channel and stays up: the exec in flight
// answers 125 (its tree killed from outside), and later execs go through `nucleus exec`.
TEST_P(DaemonTest, HostileAgentFramesAreRefused) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("nucleus-hostile-agent-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0755);
  auto script = [&](const std::string& name, const std::string& body) {
    std::string path = (dir / name).string();
    std::ofstream(path) << "#!/bin/sh\necho ready\n" << body << "exec sleep 2147483647\n";
    ::chmod(path.c_str(), 0755);
    return path;
  };
  // a valid hello (uid 0), then, once a request came, kStdout for exec 1 announcing 16 MiB
  const std::string oversize = script("oversize.sh",
      "printf '\\020\\0\\0\\0\\0\\0\\0\\0\\020\\0\\0\\0\\001\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\200\\0\\0\\0'\n"
      "head -c 12 >/dev/null\n"
      "printf '\\021\\0\\0\\0\\001\\0\\0\\0\\0\\0\\0\\001'\n");
  const std::string garbage = script("garbage.sh", "echo 'GET / HTTP/1.1 garbage garbage'\n");
  for (const std::string& agent : {oversize, garbage}) {
    Nucleusd d(templates_for(backend()), {"--agent", agent});
    std::string id = create(d);
    ASSERT_FALSE(id.empty()) << d.log();
    ExecResult first = exec(d, id, {{"argv", {"/bin/echo", "one"}}});
    if (agent == oversize) {
      EXPECT_TRUE(first.agent) << first.body;
      EXPECT_EQ(first.exit_code, 125) << first.body;
      EXPECT_NE(first.err.find("exec channel failed"), std::string::npos) << first.body;
      EXPECT_NE(d.log().find("malformed frame"), std::string::npos) << d.log();
    } else {
      EXPECT_FALSE(first.agent) << first.body;
      EXPECT_EQ(first.out, "one\n") << first.body;
    }
    EXPECT_EQ(d.client().call("GET", "/v1/health").status, 200);
    ExecResult next = exec(d, id, {{"argv", {"/bin/echo", "two"}}});
    EXPECT_FALSE(next.agent) << next.body;
    EXPECT_EQ(next.out, "two\n") << next.body << d.log();
    EXPECT_EQ(remove(d, id), 204);
    expect_no_records(d);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nucleus::test
