// nucleusd through its real API and the real CLI (docs/api.md), on both backends: create,
// exec (streamed, exit status, timeout 124 with no process left), files in and out with
// traversal refused, pause/resume, TTL, delete, warm pools and /metrics, a daemon killed
// with SIGKILL and restarted, 50 concurrent execs, a client that leaves a silent command.
// daemon_api_test.cc has the API's contract on one backend.
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

TEST_P(DaemonTest, CreateExecDelete) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  ASSERT_FALSE(id.empty());
  json info = json::parse(d.client().call("GET", "/v1/sandboxes/" + id).body);
  EXPECT_EQ(info["backend"], backend());
  ExecResult r = exec(d, id, {{"argv", {"/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 7"}}});
  EXPECT_EQ(r.http, 200);
  EXPECT_EQ(r.exit_code, 7) << r.body;
  EXPECT_TRUE(r.agent) << r.body << d.log();
  EXPECT_EQ(r.out, "out1\nout2\n");
  EXPECT_EQ(r.err, "err1\n");
  // env, cwd and stdin reach the command; the sandbox's env from create too
  ExecResult e = exec(d, id, {{"argv", {"/bin/sh", "-c", "echo $A $B; pwd; cat"}}, {"env", {{"A", "a"}}}, {"cwd", "/tmp"},
                              {"stdin", "from stdin"}});
  EXPECT_EQ(e.out, "a\n/tmp\nfrom stdin") << e.body;
  EXPECT_EQ(remove(d, id), 204);
  EXPECT_EQ(d.client().call("GET", "/v1/sandboxes/" + id).status, 404);
  expect_no_records(d);
}

TEST_P(DaemonTest, OutputIsStreamedAsItComes) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  // "b" is written only once "go" exists, which the test makes after it has seen "a":
  // the answer cannot have been buffered until the command ended.
  std::atomic<bool> saw_a{false};
  // A jthread: joined on every way out, so a stream() that throws fails this test, not the
  // whole binary.
  std::jthread maker([&] {
    // Seen within 10 s, or the client held the output back (the command waits for "go").
    EXPECT_TRUE(eventually([&] { return saw_a.load(); }, 10)) << "\"a\" was not seen before the command ended";
    exec(d, id, {{"argv", {"/bin/touch", "/tmp/go"}}});
  });
  std::string body;
  d.client().stream("POST", "/v1/sandboxes/" + id + "/exec",
                    json{{"argv", {"/bin/sh", "-c", "echo a; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo b"}}}.dump(),
                    [&](std::string_view data) {
                      body.append(data);
                      if (body.find("a\\n") != std::string::npos) saw_a = true;
                    });
  maker.join();
  EXPECT_LT(body.find("\"a\\n\""), body.find("\"b\\n\"")) << body;
  EXPECT_NE(body.find("\"exit_code\":0"), std::string::npos) << body;
  EXPECT_EQ(remove(d, id), 204);
}

// A client that leaves while its command is silent (Ctrl-C on `sandbox exec`, a caller's
// own timeout) ends the command at once, as one that leaves while output flows does: it
// used to run on, counted as active, holding off pause and the idle timeout.
TEST_P(DaemonTest, AClientThatLeavesASilentCommandEndsIt) {
  // The agent's path, then `nucleus exec`'s (--agent none): two loops, one watch each.
  for (bool agent : {true, false}) {
    Nucleusd d(templates_for(backend()), agent ? std::vector<std::string>{} : std::vector<std::string>{"--agent", "none"});
    std::string id = create(d);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", d.socket().c_str());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string body = R"({"argv":["/bin/sleep","3600"]})";
    const std::string request = "POST /v1/sandboxes/" + id + "/exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    char header[512];
    ASSERT_GT(::read(fd, header, sizeof header), 0);  // the stream began: the command runs
    auto active = [&] { return json::parse(d.client().call("GET", "/v1/sandboxes/" + id).body).value("active_execs", -1); };
    EXPECT_TRUE(eventually([&] { return active() == 1; }, 10)) << agent;
    ::close(fd);
    EXPECT_TRUE(eventually([&] { return active() == 0; }, 10)) << "the silent command outlived its client; agent " << agent;
    if (backend() == "native") {  // killed; reaped a moment after its exec was counted out
      EXPECT_TRUE(eventually([&] {
        for (pid_t pid : sandbox_pids(d, id))
          if (cmdline(pid).find("sleep 3600") != std::string::npos) return false;
        return true;
      }, 10)) << "agent " << agent;
    }
    EXPECT_EQ(remove(d, id), 204);
  }
}

TEST_P(DaemonTest, TimeoutKillsTheWholeTreeWith124) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  ExecResult r = exec(d, id, {{"argv", {"/bin/sh", "-c", "sleep 1000 & (setsid sleep 1001 &) ; echo started; sleep 1002"}},
                              {"timeout", 1}});
  EXPECT_EQ(r.exit_code, 124) << r.body;
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.agent) << r.body;
  EXPECT_EQ(r.out, "started\n");
  if (backend() == "native") {
    for (pid_t pid : sandbox_pids(d, id)) EXPECT_EQ(cmdline(pid).find("sleep 100"), std::string::npos) << cmdline(pid);
  } else {
    ExecResult ps = exec(d, id, {{"argv", {"/bin/ps"}}});
    EXPECT_EQ(ps.out.find("sleep 100"), std::string::npos) << ps.out;
  }
  // the sandbox itself lives on
  EXPECT_EQ(exec(d, id, {{"argv", {"/bin/true"}}}).exit_code, 0);
  EXPECT_EQ(remove(d, id), 204);
}

TEST_P(DaemonTest, FilesInAndOut) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d, {{"files", {{"/etc/motd.d/x", "at create"}}}});
  std::string tar = daemon::make_tar({{"/sub/a.txt", "hello"}, {"/b.txt", "world"}});
  daemon::ApiResponse put = d.client().call("PUT", "/v1/sandboxes/" + id + "/files?path=/tmp/in", tar, "application/x-tar");
  EXPECT_EQ(put.status, 204) << put.body;
  EXPECT_EQ(exec(d, id, {{"argv", {"/bin/cat", "/tmp/in/sub/a.txt", "/tmp/in/b.txt", "/etc/motd.d/x"}}}).out,
            "helloworldat create");
  daemon::ApiResponse get = d.client().call("GET", "/v1/sandboxes/" + id + "/files?path=/tmp/in");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(daemon::check_tar(get.body).members, 4u);  // in/, in/sub/, in/sub/a.txt, in/b.txt
  EXPECT_NE(get.body.find("hello"), std::string::npos);
  EXPECT_EQ(error_code(d.client().call("GET", "/v1/sandboxes/" + id + "/files?path=/nope")), "not_found");
  EXPECT_EQ(remove(d, id), 204);
}

TEST_P(DaemonTest, TraversalInFileRoutesIsRefusedAndWritesNothingOutside) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  const std::string marker_dir = d.dir() + "/host-side";
  std::filesystem::create_directories(marker_dir);
  auto put = [&](const std::string& path, const std::string& tar) {
    return d.client().call("PUT", "/v1/sandboxes/" + id + "/files?path=" + daemon::url_encode(path), tar, "application/x-tar");
  };
  std::string plain = daemon::make_tar({{"/f", "x"}});
  EXPECT_EQ(error_code(put("/tmp/../../" + marker_dir, plain)), "path_traversal");
  EXPECT_EQ(error_code(put("tmp", plain)), "invalid_field");
  // archives that climb, are absolute, or link out
  auto with_name = [](std::string tar, const std::string& name, char type = '0', const std::string& link = "") {
    std::string h(512, '\0');
    std::memcpy(h.data(), name.data(), name.size());
    std::memcpy(h.data() + 100, "0000644", 7);
    std::memcpy(h.data() + 124, "00000000000", 11);
    h[156] = type;
    std::memcpy(h.data() + 157, link.data(), link.size());
    std::memcpy(h.data() + 257, "ustar", 5);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h.data() + 148, 8, "%06o", sum);
    return h + tar;
  };
  EXPECT_EQ(error_code(put("/tmp", with_name(plain, "../../../../" + marker_dir + "/evil"))), "path_traversal");
  EXPECT_EQ(error_code(put("/tmp", with_name(plain, marker_dir + "/evil"))), "path_traversal");
  EXPECT_EQ(error_code(put("/tmp", with_name(plain, "esc", '2', marker_dir))), "path_traversal");
  // a symlink made inside the sandbox leads only within it
  ASSERT_EQ(exec(d, id, {{"argv", {"/bin/ln", "-s", "/", "/tmp/esc"}}}).exit_code, 0);
  const int through_link = put("/tmp/esc" + marker_dir, plain).status;
  // Native: written inside the sandbox. gVisor: sometimes refused as a path the sandbox
  // lacks (400; the open question below). Either way, never on the host:
  if (backend() == "native") EXPECT_EQ(through_link, 204);
  else EXPECT_TRUE(through_link == 204 || through_link == 400) << through_link;
  EXPECT_TRUE(std::filesystem::is_empty(marker_dir)) << "a file was written on the host";
  if (backend() == "native") {  // under gVisor the file is not found at that path (open question)
    ExecResult inside = exec(d, id, {{"argv", {"/bin/cat", marker_dir + "/f"}}});
    EXPECT_EQ(inside.out, "x") << inside.body;  // inside the sandbox
  }
  EXPECT_EQ(remove(d, id), 204);
}

TEST_P(DaemonTest, PauseResume) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  EXPECT_EQ(d.client().call("POST", "/v1/sandboxes/" + id + "/pause").status, 200);
  EXPECT_EQ(json::parse(d.client().call("GET", "/v1/sandboxes/" + id).body)["status"], "paused");
  EXPECT_EQ(error_code(d.client().call("POST", "/v1/sandboxes/" + id + "/exec", R"({"argv":["true"]})")), "paused");
  EXPECT_EQ(d.client().call("POST", "/v1/sandboxes/" + id + "/resume").status, 200);
  EXPECT_EQ(exec(d, id, {{"argv", {"/bin/echo", "back"}}}).out, "back\n");
  EXPECT_EQ(d.client().call("POST", "/v1/sandboxes/" + id + "/pause").status, 200);
  EXPECT_EQ(remove(d, id), 204);  // a paused sandbox is deleted too
  expect_no_records(d);
}

TEST_P(DaemonTest, TtlAndIdleTimeoutDelete) {
  Nucleusd d(templates_for(backend()));
  std::string ttl = create(d, {{"ttl", 1}});
  std::string idle = create(d, {{"idle_timeout", 1}});
  EXPECT_TRUE(eventually([&] { return d.client().call("GET", "/v1/sandboxes/" + ttl).status == 404; }));
  EXPECT_TRUE(eventually([&] { return d.client().call("GET", "/v1/sandboxes/" + idle).status == 404; }));
  expect_no_records(d);
}

TEST_P(DaemonTest, WarmPoolClaimsAndRefills) {
  Nucleusd d(templates_for(backend(), 2));
  auto metric = [&](const std::string& name) { return metric_value(d, name); };
  ASSERT_TRUE(eventually([&] { return metric("nucleus_pool_ready") == 2; }, 60)) << d.client().call("GET", "/metrics").body;
  daemon::ApiResponse r = d.client().call("POST", "/v1/sandboxes", R"({"env":{"CLAIMED":"yes"}})");
  ASSERT_EQ(r.status, 201);
  json s = json::parse(r.body);
  EXPECT_TRUE(s["warm"].get<bool>());
  EXPECT_EQ(exec(d, s["id"], {{"argv", {"/bin/sh", "-c", "echo $CLAIMED"}}}).out, "yes\n");
  EXPECT_EQ(metric("nucleus_pool_hits_total"), 1);
  EXPECT_TRUE(eventually([&] { return metric("nucleus_pool_ready") == 2; }, 60));  // refilled
  std::string m = d.client().call("GET", "/metrics").body;
  EXPECT_NE(m.find("nucleus_exec_duration_seconds_count 1"), std::string::npos) << m;
  EXPECT_EQ(remove(d, s["id"]), 204);
  d.stop();  // the pool's sandboxes go with it
  expect_no_records(d);
}

// A claim's refill waits for a quiet moment, but not for ever: with an exec running
// throughout, the pool still refills, and meanwhile claims are served (cold when the pool
// is empty), each counted once as a hit or a miss.
TEST_P(DaemonTest, PoolRefillsUnderLoadAndServesColdMeanwhile) {
  Nucleusd d(templates_for(backend(), 1));
  auto metric = [&](const std::string& name) { return metric_value(d, name); };
  ASSERT_TRUE(eventually([&] { return metric("nucleus_pool_ready") == 1; }, 60)) << d.log();
  daemon::ApiResponse first = d.client().call("POST", "/v1/sandboxes", "{}");
  ASSERT_EQ(first.status, 201) << first.body;
  ASSERT_TRUE(json::parse(first.body)["warm"].get<bool>());
  const std::string busy = json::parse(first.body)["id"];
  std::thread load([&] { exec(d, busy, {{"argv", {"/bin/sleep", "120"}}}); });  // ends with its sandbox
  auto busy_execs = [&] { return json::parse(d.client().call("GET", "/v1/sandboxes/" + busy).body).value("active_execs", 0); };
  ASSERT_TRUE(eventually([&] { return busy_execs() == 1; }));

  daemon::ApiResponse second = d.client().call("POST", "/v1/sandboxes", "{}");
  ASSERT_EQ(second.status, 201) << second.body;
  const std::string other = json::parse(second.body)["id"];
  const bool second_warm = json::parse(second.body)["warm"].get<bool>();
  EXPECT_EQ(exec(d, other, {{"argv", {"/bin/echo", "served"}}}).out, "served\n");
  EXPECT_TRUE(eventually([&] { return metric("nucleus_pool_ready") == 1; }, 60)) << d.log();
  EXPECT_EQ(busy_execs(), 1);  // refilled while the load went on
  EXPECT_EQ(metric("nucleus_pool_hits_total"), second_warm ? 2 : 1);
  EXPECT_EQ(std::max(0L, metric("nucleus_pool_misses_total")), second_warm ? 0 : 1);

  EXPECT_EQ(remove(d, busy), 204);
  load.join();
  EXPECT_EQ(remove(d, other), 204);
  d.stop();
  expect_no_records(d);
}

TEST_P(DaemonTest, KilledDaemonReattachesOnRestart) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  ASSERT_EQ(exec(d, id, {{"argv", {"/bin/sh", "-c", "echo kept > /tmp/state"}}}).exit_code, 0);
  d.stop(SIGKILL);
  d.start();
  ASSERT_TRUE(d.running());
  // the agent's channel died with the daemon: `nucleus exec` serves the re-attached sandbox
  ExecResult after = exec(d, id, {{"argv", {"/bin/cat", "/tmp/state"}}});
  EXPECT_EQ(after.out, "kept\n") << d.log();
  EXPECT_FALSE(after.agent);
  json list = json::parse(d.client().call("GET", "/v1/sandboxes").body);
  EXPECT_EQ(list["sandboxes"].size(), 1u);
  EXPECT_EQ(remove(d, id), 204);
  expect_no_records(d);
}

TEST_P(DaemonTest, FiftyConcurrentExecs) {
  Nucleusd d(templates_for(backend()));
  std::string id = create(d);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  std::mutex failures_lock;
  std::string failures;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      ExecResult r = exec(d, id, {{"argv", {"/bin/echo", std::to_string(i)}}});
      if (r.exit_code == 0 && r.agent && r.out == std::to_string(i) + "\n") {
        ++good;
      } else {
        std::lock_guard<std::mutex> hold(failures_lock);
        failures += std::to_string(i) + ": http " + std::to_string(r.http) + " " + r.body.substr(0, 400) + "\n";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), 50) << failures;
  EXPECT_EQ(remove(d, id), 204);
}

// The agent (daemon/agent/): streamed order, exit statuses (a signal's too), env over the
// sandbox's, cwd, stdin, a missing command, all without a process on the host per exec.
INSTANTIATE_TEST_SUITE_P(Backends, DaemonTest, ::testing::Values("native", "gvisor"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace nucleus::test
