// nucleusd's contract through its real API and CLI (docs/api.md), on the native backend:
// bad requests, the socket's group, TCP's token, one daemon per state and socket, a pool's
// refill once its template has room, workspaces in and out (a copy out refused), the
// `nucleus sandbox` verbs. daemon_test.cc has what runs on both backends.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <atomic>
#include <mutex>
#include <thread>

#include "daemon/files/tar_check.h"
#include "tests/integration/daemon_sandbox_api.h"

namespace nucleus::test {
namespace {

using namespace sandbox_api;

void expect_no_records_in(const Nucleusd& d) {
  EXPECT_TRUE(eventually([&] { return d.records().empty(); }, 10)) << ::testing::PrintToString(d.records());
}

// A template at its max_sandboxes cannot refill its pool; once its sandboxes are deleted it
// can, and does (it used to wait for the next claim, which then went cold). A claim refused
// with 429 is no miss.
TEST(DaemonApi, APoolRefillsOnceItsTemplateHasRoomAgain) {
  if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  Nucleusd d("templates:\n  default:\n    backend: native\n    rootfs: " + kRootfs + "\n    pool: 2\n    max_sandboxes: 2\n");
  auto metric = [&](const std::string& name) { return metric_value(d, name); };
  ASSERT_TRUE(eventually([&] { return metric("nucleus_pool_ready") == 2; }, 60));
  std::string a = create(d), b = create(d);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(d.client().call("POST", "/v1/sandboxes", "{}").status, 429);
  EXPECT_LE(metric("nucleus_pool_misses_total"), 0);  // absent (-1) or 0
  EXPECT_EQ(remove(d, a), 204);
  EXPECT_EQ(remove(d, b), 204);
  EXPECT_TRUE(eventually([&] { return metric("nucleus_pool_ready") == 2; }, 60)) << d.client().call("GET", "/metrics").body;
  d.stop();
  expect_no_records_in(d);
}

// What the API refuses, with the status and code it says (one daemon, no sandbox made).
TEST(DaemonApi, BadRequestsAreRefusedWithJsonErrors) {
  if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  Nucleusd d(templates_for("native"), {"--max-body", "1048576"});
  auto c = d.client();
  daemon::ApiResponse r = c.call("POST", "/v1/sandboxes", "{\"template\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "malformed_json");
  r = c.call("POST", "/v1/sandboxes", R"({"image":"alpine"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "unknown_field");
  r = c.call("POST", "/v1/sandboxes", R"({"template":"nope"})");
  EXPECT_EQ(error_code(r), "unknown_template");
  r = c.call("POST", "/v1/sandboxes", std::string(2 << 20, ' '));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code(r), "body_too_large");
  r = c.call("POST", "/v1/sandboxes/abc/exec", R"({"argv":["true"]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "not_found");
  r = c.call("PATCH", "/v1/sandboxes/abc");
  EXPECT_EQ(r.status, 405);
  r = c.call("GET", "/v2/x");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "no_route");
  EXPECT_TRUE(d.records().empty());
}

// One daemon per state root and per socket: a second would take the first's socket and,
// on its way out, delete the first's pooled sandboxes. It is refused with one line and 125,
// and the first goes on serving.
TEST(DaemonApi, ASecondDaemonOnTheSameStateOrSocketIsRefused) {
  if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  Nucleusd d(templates_for("native"));
  const std::string out = d.dir() + "/second.txt";
  auto second = [&](const std::string& socket, const std::string& root) {
    // (bounded: without the lock the second would serve, and never return)
    std::string cmd = "timeout 20 " + kNucleusd + " --socket " + socket + " --root " + root + " --nucleus " + kNucleus + " >" + out + " 2>&1";
    int status = std::system(cmd.c_str());
    std::ifstream in(out);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::string(std::istreambuf_iterator<char>(in), {}));
  };
  for (const auto& [socket, root] : {std::pair{d.socket(), d.root()}, std::pair{d.socket(), d.dir() + "/other-state"},
                                     std::pair{d.dir() + "/other.sock", d.root()}}) {
    auto [status, text] = second(socket, root);
    EXPECT_EQ(status, 125) << text;
    EXPECT_NE(text.find("another nucleusd (pid "), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_EQ(d.client().call("GET", "/v1/health").status, 200) << socket << " " << root;
  }
  EXPECT_FALSE(std::filesystem::exists(d.dir() + "/other.sock"));
}

// The socket is 0660 root:nucleus: a user outside the group cannot connect.
TEST(DaemonApi, SocketRefusesUsersOutsideItsGroup) {
  if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  Nucleusd d(templates_for("native"));
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  ::chmod(d.dir().c_str(), 0755);  // the directory is not what refuses
  RunOptions nobody;
  nobody.unprivileged = true;
  nobody.env = {{"NUCLEUS_SOCKET", d.socket()}};
  Result r = run_nucleus({"sandbox", "ls"}, nobody);
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

// A workspace copied in leaves out version control, environment files, keys and the
// request's patterns, and is copied back out at delete; one outside --workspace-root is 403.
TEST(DaemonApi, WorkspaceCopyInAndOut) {
  if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  const std::filesystem::path roots = std::filesystem::temp_directory_path() / ("nucleusd-ws-" + std::to_string(::getpid()));
  const std::filesystem::path ws = roots / "project";
  std::filesystem::create_directories(ws / ".git");
  for (const char* f : {"main.py", ".git/config", ".env", ".env.local", "id_rsa", "server.pem", "notes.log"})
    std::ofstream(ws / f) << f;
  Nucleusd d(templates_for("native"), {"--workspace-root", roots.string()});
  // (the target's parent must be writable by the sandbox's user: /tmp here; a template
  // can give /workspace as a tmpfs)
  json body{{"workspace", {{"path", ws.string()}, {"target", "/tmp/workspace"}, {"exclude", {"*.log"}}, {"copy_out", true}}}};
  std::string id = create(d, body);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(exec(d, id, {{"argv", {"/bin/ls", "-A", "/tmp/workspace"}}}).out, "main.py\n");
  ASSERT_EQ(exec(d, id, {{"argv", {"/bin/sh", "-c", "echo result > /tmp/workspace/out.txt"}}}).exit_code, 0);
  EXPECT_EQ(remove(d, id), 204);
  std::ifstream out(ws / "out.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(out), {}), "result\n");
  daemon::ApiResponse r = d.client().call("POST", "/v1/sandboxes", json{{"workspace", {{"path", "/etc"}}}}.dump());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_code(r), "forbidden");

  // The sandbox's code makes its workspace something that may not leave (a link out of
  // it): the copy out is refused, and the sandbox stays until it is deleted with force; an
  // expired one goes anyway (its sweep used to retry every second for ever).
  for (bool expire : {false, true}) {
    json ws_body = body;
    if (expire) ws_body["ttl"] = 2;
    std::string bad = create(d, ws_body);
    ASSERT_FALSE(bad.empty());
    ASSERT_EQ(exec(d, bad, {{"argv", {"/bin/ln", "-s", "/etc/passwd", "/tmp/workspace/leak"}}}).exit_code, 0);
    if (expire) {
      bool gone = false;
      for (int i = 0; i < 100 && !gone; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        gone = d.client().call("GET", "/v1/sandboxes/" + bad).status == 404;
      }
      EXPECT_TRUE(gone) << "an expired sandbox whose copy out fails was kept";
      EXPECT_GE(metric_value(d, "nucleus_workspace_copy_out_failures_total"), 2);  // the forced one, and this
      continue;
    }
    daemon::ApiResponse kept = d.client().call("DELETE", "/v1/sandboxes/" + bad);
    EXPECT_EQ(kept.status, 400) << kept.body;
    EXPECT_NE(kept.body.find("force=true"), std::string::npos) << kept.body;
    EXPECT_EQ(d.client().call("GET", "/v1/sandboxes/" + bad).status, 200);
    // The CLI: --force, and an id that fails does not stop the next.
    Result rm = run_nucleus({"sandbox", "--socket", d.socket(), "rm", "--force", "nope", bad});
    EXPECT_EQ(rm.status, 125) << rm.err;
    EXPECT_NE(rm.err.find("sandbox rm nope"), std::string::npos) << rm.err;
    EXPECT_EQ(d.client().call("GET", "/v1/sandboxes/" + bad).status, 404);
  }
  EXPECT_FALSE(std::filesystem::is_symlink(ws / "leak"));  // nothing of the refused copy reached the host
  std::filesystem::remove_all(roots);
  expect_no_records_in(d);
}

// TCP (loopback) answers only requests carrying the bearer token.
TEST(DaemonApi, TcpNeedsTheBearerToken) {
  if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  const int port = 20000 + ::getpid() % 20000;
  const std::string token_file = std::filesystem::temp_directory_path() / ("nucleusd-token-" + std::to_string(::getpid()));
  std::ofstream(token_file) << "s3cret\n";
  Nucleusd d(templates_for("native"), {"--listen", "127.0.0.1:" + std::to_string(port), "--token-file", token_file});
  auto get = [&](const std::string& auth) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      std::string req = "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + "\r\n";
      (void)!::write(fd, req.data(), req.size());
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return answer.substr(0, answer.find("\r\n"));
  };
  EXPECT_EQ(get(""), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(get("Authorization: Bearer wrong\r\n"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(get("Authorization: Bearer s3cret\r\n"), "HTTP/1.1 200 OK");
  std::filesystem::remove(token_file);
}

// The CLI: create prints the id, exec streams and exits with the status, cp both ways, ls, rm.
TEST(DaemonCli, SandboxVerbs) {
  if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  Nucleusd d(templates_for("native"));
  RunOptions o;
  o.env = {{"NUCLEUS_SOCKET", d.socket()}};
  Result c = run_nucleus({"sandbox", "create", "--env", "X=1"}, o);
  ASSERT_EQ(c.status, 0) << c.err;
  std::string id = c.out.substr(0, c.out.find('\n'));
  Result e = run_nucleus({"sandbox", "exec", id, "--", "/bin/sh", "-c", "echo $X; echo oops >&2; exit 3"}, o);
  EXPECT_EQ(e.status, 3);
  EXPECT_EQ(e.out, "1\n");
  EXPECT_EQ(e.err, "oops\n");
  Result t = run_nucleus({"sandbox", "exec", "--timeout", "1", id, "--", "/bin/sleep", "100"}, o);
  EXPECT_EQ(t.status, 124);
  // Options before the id, as docs/api.md writes them (-e used to take the id too).
  Result env = run_nucleus({"sandbox", "exec", "-e", "Y=2", "-e", "Z=3", id, "--", "/bin/sh", "-c", "echo $Y$Z"}, o);
  EXPECT_EQ(env.status, 0) << env.err;
  EXPECT_EQ(env.out, "23\n");
  const std::string src = d.dir() + "/src";
  std::filesystem::create_directories(src);
  std::ofstream(src + "/hello.txt") << "hi there";
  EXPECT_EQ(run_nucleus({"sandbox", "cp", src, id + ":/tmp"}, o).status, 0);
  EXPECT_EQ(run_nucleus({"sandbox", "exec", id, "--", "/bin/cat", "/tmp/src/hello.txt"}, o).out, "hi there");
  EXPECT_EQ(run_nucleus({"sandbox", "cp", id + ":/tmp/src/hello.txt", d.dir() + "/out"}, o).status, 0);
  std::ifstream back(d.dir() + "/out/hello.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(back), {}), "hi there");
  Result ls = run_nucleus({"sandbox", "ls"}, o);
  EXPECT_NE(ls.out.find(id), std::string::npos) << ls.out;
  EXPECT_EQ(run_nucleus({"sandbox", "pause", id}, o).status, 0);
  EXPECT_EQ(run_nucleus({"sandbox", "resume", id}, o).status, 0);
  Result bad = run_nucleus({"sandbox", "exec", "nope", "--", "true"}, o);
  EXPECT_EQ(bad.status, 125);
  EXPECT_NE(bad.err.find("no sandbox 'nope'"), std::string::npos) << bad.err;
  EXPECT_EQ(run_nucleus({"sandbox", "rm", id}, o).status, 0);
  EXPECT_TRUE(d.records().empty());
}

}  // namespace
}  // namespace nucleus::test
