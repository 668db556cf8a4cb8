// Services (issue 17): detached containers under a monitor of their own, on both backends:
// logs in the CRI format and within their bound, ps/inspect/stop/restart/rm, restart
// policies with back-off, health checks and readiness, secrets out of sight, events, and a
// monitor's death leaving nothing behind. Each test uses a state root of its own, removed
// at the end, so the services of the suite never meet other containers.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool wait_for(const std::function<bool()>& condition, std::chrono::seconds limit = 60s) {
  for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

class Services : public ContainerTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (IsSkipped()) return;
    root_ = "/run/nucleus-it-svc-" + std::to_string(::getpid());
  }
  void TearDown() override {
    if (!root_.empty()) {
      for (const std::string& id : ids_) nucleus({"rm", "-f", id});
      std::filesystem::remove_all(root_);
      // A killed monitor's keeper finishes the cleanup on its own.
      wait_for([&] { return take_leak_snapshot() == baseline(); }, 30s);
    }
    ContainerTest::TearDown();
  }

  Result nucleus(std::vector<std::string> args, const RunOptions& options = {}) const {
    args.insert(args.begin(), {"--root", root_});
    return run_nucleus(args, options);
  }
  std::string name(const std::string& base) const { return base + "-" + GetParam(); }
  // `run -d` with this backend and the test rootfs.
  Result run_d(const std::string& id, std::vector<std::string> extra, std::vector<std::string> command,
               const RunOptions& options = {}) {
    ids_.push_back(id);
    std::vector<std::string> args = {"run", "-d", "--backend", GetParam(), "--rootfs", kRootfs, "--name", id};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return nucleus(args, options);
  }
  json inspect(const std::string& id) const {
    Result r = nucleus({"inspect", id});
    json all = json::parse(r.out, nullptr, false);
    return all.is_array() && all.size() == 1 ? all[0] : json();
  }
  std::string field(const std::string& id, const char* key) const {
    json j = inspect(id);
    return j.is_object() && j[key].is_string() ? j[key].get<std::string>() : "";
  }
  std::vector<json> events_of(const std::string& id, const std::string& type) const {
    std::vector<json> out;
    std::istringstream lines(nucleus({"events", "--format", "json"}).out);
    for (std::string l; std::getline(lines, l);) {
      json e = json::parse(l, nullptr, false);
      if (e.is_object() && e["id"] == id && e["type"] == type) out.push_back(e);
    }
    return out;
  }
  // The test root holds nothing but the events once every service is gone.
  std::vector<std::string> root_entries() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root_, ec)) {
      std::string n = e.path().filename().string();
      if (n.rfind(".events", 0) != 0) out.push_back(n);
    }
    return out;
  }

  std::string root_;
  std::vector<std::string> ids_;
};

TEST_P(Services, RunDetachedLogsPsInspectStopRm) {
  const std::string id = name("web");
  Result r = run_d(id, {}, {"/bin/sh", "-c", "echo to-out; echo to-err >&2; exec sleep 600"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, id + "\n");  // the id, once started
  json j = inspect(id);
  ASSERT_TRUE(j.is_object()) << nucleus({"inspect", id}).err;
  EXPECT_EQ(j["status"], "running");
  EXPECT_GT(j["pid"].get<int>(), 0);
  EXPECT_FALSE(j["started_at"].get<std::string>().empty());
  EXPECT_EQ(j["restart_count"], 0);
  EXPECT_EQ(j["health"], "none");

  ASSERT_TRUE(wait_for([&] { return nucleus({"logs", id}).err == "to-err\n"; }));
  Result logs = nucleus({"logs", id});
  EXPECT_EQ(logs.out, "to-out\n");
  EXPECT_EQ(logs.err, "to-err\n");
  Result stamped = nucleus({"logs", "--timestamps", "--tail", "1", id});
  EXPECT_EQ(stamped.out.size() + stamped.err.size(), std::string("2026-12-06T05:00:00.000000000Z to-err\n").size());
  // containerd's CRI format, line by line.
  std::string raw = slurp_file(j["log_path"].get<std::string>());
  EXPECT_NE(raw.find(" stdout F to-out\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find(" stderr F to-err\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("T"), 10u) << raw;

  Result ps = nucleus({"ps"});
  EXPECT_NE(ps.out.find(id), std::string::npos) << ps.out;
  Result processes = nucleus({"ps", "--format", "json", id});  // runc's meaning
  json pids = json::parse(processes.out, nullptr, false);
  ASSERT_TRUE(pids.is_array()) << processes.err;
  EXPECT_FALSE(pids.empty());

  Result stop = nucleus({"stop", "-t", "5", id});
  EXPECT_EQ(stop.status, 0) << stop.err;
  j = inspect(id);
  EXPECT_EQ(j["status"], "exited");
  EXPECT_EQ(j["exit_code"], 128 + SIGTERM);
  EXPECT_EQ(j["reason"], "stopped");
  EXPECT_EQ(j["restart_count"], 0);
  EXPECT_EQ(nucleus({"ps", "-q"}).out.find(id), std::string::npos);  // running ones only
  EXPECT_NE(nucleus({"ps", "-a"}).out.find(id), std::string::npos);
  EXPECT_EQ(nucleus({"logs", id}).out, "to-out\n");  // kept until rm

  EXPECT_EQ(nucleus({"rm", id}).status, 0);
  EXPECT_EQ(nucleus({"inspect", id}).status, 125);
  EXPECT_TRUE(root_entries().empty());
}

TEST_P(Services, RmRefusesARunningServiceUnlessForced) {
  const std::string id = name("rmf");
  ASSERT_EQ(run_d(id, {}, {"/bin/sleep", "600"}).status, 0);
  Result refused = nucleus({"rm", id});
  EXPECT_EQ(refused.status, 125);
  EXPECT_EQ(field(id, "status"), "running");
  EXPECT_EQ(nucleus({"rm", "-f", id}).status, 0);
  EXPECT_TRUE(root_entries().empty());
}

TEST_P(Services, KilledMonitorLeavesNothingAndPsSaysWhy) {
  const std::string id = name("orphan");
  ASSERT_EQ(run_d(id, {}, {"/bin/sleep", "600"}).status, 0);
  json j = inspect(id);
  int monitor = j["monitor_pid"].get<int>();
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(::kill(monitor, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return field(id, "status") == "exited"; }));
  EXPECT_EQ(field(id, "reason"), "monitor died");
  EXPECT_NE(nucleus({"ps", "-a"}).out.find("monitor died"), std::string::npos);
  // The container goes with its monitor: its record, processes, mounts and cgroups (the
  // fixture's leak check, once the service's own record is removed).
  EXPECT_TRUE(wait_for([&] { return !std::filesystem::exists(root_ + "/" + id); }));
  EXPECT_EQ(nucleus({"rm", id}).status, 0);
}

TEST_P(Services, ACrashLoopBacksOff) {
  const std::string id = name("crash");
  ASSERT_EQ(run_d(id, {"--restart", "always"}, {"/bin/sh", "-c", "exit 3"}).status, 0);
  std::this_thread::sleep_for(10s);
  size_t starts = events_of(id, "start").size();
  // 100 ms doubling: about 7 starts in 10 s; without a back-off, hundreds.
  EXPECT_GE(starts, 3u);
  EXPECT_LE(starts, 12u);
  json j = inspect(id);
  EXPECT_GE(j["restart_count"].get<int>(), 2);
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(nucleus({"stop", id}).status, 0);
  EXPECT_EQ(field(id, "status"), "exited");
}

TEST_P(Services, OnFailureStopsAfterItsRetries) {
  const std::string id = name("retry");
  ASSERT_EQ(run_d(id, {"--restart", "on-failure:2"}, {"/bin/sh", "-c", "echo run; exit 1"}).status, 0);
  ASSERT_TRUE(wait_for([&] { return field(id, "status") == "exited"; }));
  json j = inspect(id);
  EXPECT_EQ(j["restart_count"], 2);
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(nucleus({"logs", id}).out, "run\nrun\nrun\n");
  EXPECT_EQ(events_of(id, "die").size(), 3u);
}

TEST_P(Services, ABurstOfOutputStaysUnderTheLogCap) {
  const std::string id = name("burst");
  // 10 MB of output against a cap of 2 files of 1 MiB.
  ASSERT_EQ(run_d(id, {"--log-max-size", "1m", "--log-max-files", "2"},
                  {"/bin/sh", "-c", "yes 0123456789012345678901234567890123456789 | head -c 10485760; echo; echo last-line"})
                .status,
            0);
  ASSERT_TRUE(wait_for([&] { return field(id, "status") == "exited"; }, 120s));
  std::string log = inspect(id)["log_path"].get<std::string>();
  uint64_t total = 0;
  for (const std::string& f : {log, log + ".1", log + ".2"}) {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(f, ec);
    if (!ec) total += size;
  }
  EXPECT_FALSE(std::filesystem::exists(log + ".2"));
  EXPECT_LE(total, 2u << 20);
  EXPECT_GT(total, 1u << 20);  // it rotated
  Result tail = nucleus({"logs", "--tail", "1", id});
  EXPECT_EQ(tail.out, "last-line\n");
}

TEST_P(Services, LogsFollowAcrossRotation) {
  const std::string id = name("follow");
  // ~1 KiB lines, 20 at a time: a 64 KiB file rotates every few pauses.
  std::string script =
      "pad=$(printf '%0900d' 0); i=0; while [ $i -lt 400 ]; do echo line-$i-$pad; i=$((i+1)); "
      "[ $((i % 20)) = 0 ] && sleep 0.2; done; echo done";
  ASSERT_EQ(run_d(id, {"--log-max-size", "64k", "--log-max-files", "2"}, {"/bin/sh", "-c", script}).status, 0);
  Result followed = nucleus({"logs", "-f", id}, RunOptions{.timeout = 120s});  // ends with the service
  ASSERT_EQ(followed.status, 0) << followed.err;
  std::istringstream lines(followed.out);
  int expected = -1;
  int count = 0;
  for (std::string l; std::getline(lines, l);) {
    if (l == "done") break;
    int n = std::stoi(l.substr(5, l.find('-', 5) - 5));
    if (expected >= 0) {
      EXPECT_EQ(n, expected) << "a line lost or repeated at a rotation";
    }
    expected = n + 1;
    ++count;
  }
  EXPECT_EQ(expected, 400);
  EXPECT_GT(count, 200);  // it followed through several rotations
  EXPECT_NE(followed.out.find("\ndone\n"), std::string::npos);
}

TEST_P(Services, SecretsAppearOnlyAtRunSecrets) {
  const std::string id = name("secret");
  std::mt19937_64 rng(std::random_device{}());
  const std::string token = "tok" + std::to_string(rng()) + std::to_string(rng());
  const std::string file = "/tmp/nucleus-it-secret-" + std::to_string(::getpid());
  std::ofstream(file) << token;
  Result r = run_d(id, {"--secret", file + ":api", "-u", "1000:1000"},
                   {"/bin/sh", "-c", "stat -c '%a %u' /run/secrets/api; wc -c < /run/secrets/api; exec sleep 600"});
  std::filesystem::remove(file);  // read once: the service no longer needs it
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(wait_for([&] { return nucleus({"logs", id}).out.find('\n', 8) != std::string::npos; }));
  EXPECT_EQ(nucleus({"logs", id}).out, "400 1000\n" + std::to_string(token.size()) + "\n");

  std::vector<std::string> places = {nucleus({"inspect", id}).out, nucleus({"logs", id}).out, nucleus({"ps", "-a"}).out};
  json pids = json::parse(nucleus({"ps", "--format", "json", id}).out, nullptr, false);
  ASSERT_TRUE(pids.is_array());
  pids.push_back(inspect(id)["monitor_pid"]);
  for (const json& pid : pids) {
    places.push_back(slurp_file("/proc/" + std::to_string(pid.get<int>()) + "/environ"));
    places.push_back(slurp_file("/proc/" + std::to_string(pid.get<int>()) + "/cmdline"));
  }
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root_, ec); !ec && it != std::filesystem::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) places.push_back(slurp_file(it->path()));
  }
  for (const std::string& text : places) EXPECT_EQ(text.find(token), std::string::npos);
}

TEST_P(Services, HealthGoesStartingUnhealthyHealthy) {
  const std::string id = name("health");
  ASSERT_EQ(run_d(id, {"--health-cmd", "test -e /tmp/ok", "--health-interval", "300ms", "--health-retries", "2"},
                  {"/bin/sleep", "600"})
                .status,
            0);
  EXPECT_EQ(field(id, "health"), "starting");
  ASSERT_TRUE(wait_for([&] { return field(id, "health") == "unhealthy"; }));
  EXPECT_NE(nucleus({"ps"}).out.find("(unhealthy)"), std::string::npos);
  ASSERT_EQ(nucleus({"exec", id, "/bin/touch", "/tmp/ok"}).status, 0);
  ASSERT_TRUE(wait_for([&] { return field(id, "health") == "healthy"; }));
  EXPECT_EQ(field(id, "status"), "running");  // --health-on-failure none
  std::vector<json> changes = events_of(id, "health_status");
  ASSERT_GE(changes.size(), 2u);
  EXPECT_EQ(changes.back()["attributes"]["status"], "healthy");
}

TEST_P(Services, UnhealthyRestartsWithHealthOnFailureRestart) {
  const std::string id = name("heal");
  ASSERT_EQ(run_d(id, {"--health-cmd", "false", "--health-interval", "200ms", "--health-retries", "1",
                       "--health-on-failure", "restart"},
                  {"/bin/sleep", "600"})
                .status,
            0);
  ASSERT_TRUE(wait_for([&] { return inspect(id)["restart_count"].get<int>() >= 1; }));
  EXPECT_NE(field(id, "status"), "exited");
}

TEST_P(Services, SdnotifyHealthyReturnsOnceReadyAndTellsNotifySocket) {
  const std::string id = name("ready");
  const std::string socket_path = "/run/nucleus-it-notify-" + std::to_string(::getpid()) + ".sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
  ::unlink(socket_path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  Result r = run_d(id, {"--sdnotify", "healthy", "--health-cmd", "test -e /tmp/ready", "--health-interval", "200ms"},
                   {"/bin/sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"},
                   RunOptions{.env = {{"NOTIFY_SOCKET", socket_path}}});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(field(id, "health"), "healthy");  // returned only once ready
  char buf[256] = {};
  ssize_t n = ::recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
  ::close(fd);
  ::unlink(socket_path.c_str());
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf), "READY=1\nMAINPID=" + std::to_string(inspect(id)["monitor_pid"].get<int>()) + "\n");
}

TEST_P(Services, RestartStartsItAgain) {
  const std::string id = name("again");
  ASSERT_EQ(run_d(id, {}, {"/bin/sleep", "600"}).status, 0);
  int before = inspect(id)["pid"].get<int>();
  Result r = nucleus({"restart", "-t", "1", id});
  ASSERT_EQ(r.status, 0) << r.err;
  json j = inspect(id);
  EXPECT_EQ(j["status"], "running");
  EXPECT_NE(j["pid"].get<int>(), before);
  EXPECT_EQ(events_of(id, "start").size(), 2u);
}

TEST_P(Services, EventsTellTheLifeOfAService) {
  const std::string id = name("events");
  ASSERT_EQ(run_d(id, {}, {"/bin/sh", "-c", "exit 7"}).status, 0);
  ASSERT_TRUE(wait_for([&] { return field(id, "status") == "exited"; }));
  ASSERT_EQ(nucleus({"rm", id}).status, 0);
  std::vector<std::string> types;
  std::istringstream lines(nucleus({"events", "--format", "json"}).out);
  for (std::string l; std::getline(lines, l);) {
    json e = json::parse(l);
    if (e["id"] == id) types.push_back(e["type"]);
  }
  EXPECT_EQ(types, (std::vector<std::string>{"create", "start", "die", "remove"}));
  EXPECT_EQ(events_of(id, "die").at(0)["attributes"]["exit_code"], "7");
  EXPECT_EQ(nucleus({"events", "--since", "2999-01-01T00:00:00Z"}).out, "");
  Result text = nucleus({"events", "--since", "10m"});
  EXPECT_NE(text.out.find(" die " + id + " (exit_code=7"), std::string::npos) << text.out;
}

TEST_P(Services, BadInputStartsNothing) {
  const std::vector<std::vector<std::string>> cases = {
      {"--restart", "sometimes"},
      {"--health-cmd", "true", "--health-interval", "-1s"},
      {"--secret", "/nonexistent/secret"},
      {"--sdnotify", "healthy"},
      {"--health-on-failure", "explode", "--health-cmd", "true"},
      {"--log-max-files", "0"},
  };
  for (const auto& extra : cases) {
    Result r = run_d(name("bad"), extra, {"/bin/true"});
    EXPECT_EQ(r.status, 125) << extra[0];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(root_entries().empty()) << extra[0];
  }
  Result foreground = nucleus({"run", "--backend", GetParam(), "--rootfs", kRootfs, "--restart", "always", "--", "/bin/true"});
  EXPECT_EQ(foreground.status, 125);
  EXPECT_NE(foreground.err.find("run -d"), std::string::npos) << foreground.err;
}

TEST_P(Services, StackUpWaitsForHealthyDependenciesAndIsIdempotent) {
  const std::string db = name("db"), web = name("site");
  const std::string file = "/tmp/nucleus-it-stack-" + GetParam() + "-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(file) << "version: 1\nservices:\n"
                      << "  " << db << ":\n    backend: " << GetParam() << "\n    rootfs: " << kRootfs
                      << "\n    command: [/bin/sh, -c, 'sleep 1; touch /tmp/up; exec sleep 600']"
                      << "\n    health: {cmd: 'test -e /tmp/up', interval: 200ms, start_period: 10s}\n"
                      << "  " << web << ":\n    backend: " << GetParam() << "\n    rootfs: " << kRootfs
                      << "\n    command: [/bin/sleep, '600']\n    restart: on-failure:3\n    depends_on: {" << db
                      << ": healthy}\n";
  ids_.insert(ids_.end(), {db, web});
  Result up = nucleus({"up", "-f", file});
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_EQ(up.out, db + ": started\n" + web + ": started\n");
  // web was created only once db was healthy.
  std::vector<std::string> order;
  std::istringstream lines(nucleus({"events", "--format", "json"}).out);
  for (std::string l; std::getline(lines, l);) {
    json e = json::parse(l);
    if (e["type"] == "health_status" && e["id"] == db) order.push_back("db " + e["attributes"]["status"].get<std::string>());
    if (e["type"] == "create" && e["id"] == web) order.push_back("web create");
  }
  EXPECT_EQ(order, (std::vector<std::string>{"db healthy", "web create"}));
  EXPECT_EQ(inspect(web)["restart_policy"], "on-failure:3");
  int web_pid = inspect(web)["pid"].get<int>();

  Result again = nucleus({"up", "-f", file});
  EXPECT_EQ(again.out, db + ": unchanged\n" + web + ": unchanged\n");
  EXPECT_EQ(inspect(web)["pid"].get<int>(), web_pid);

  Result down = nucleus({"down", "-f", file});
  EXPECT_EQ(down.status, 0) << down.err;
  EXPECT_EQ(down.out, web + ": removed\n" + db + ": removed\n");
  EXPECT_TRUE(root_entries().empty());
  std::filesystem::remove(file);
}

TEST_P(Services, StackBadInputStartsNothing) {
  const std::string file = "/tmp/nucleus-it-cycle-" + GetParam() + "-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(file) << "version: 1\nservices:\n"
                      << "  a:\n    backend: " << GetParam() << "\n    command: [/bin/sleep, '60']\n    depends_on: [b]\n"
                      << "  b:\n    backend: " << GetParam() << "\n    command: [/bin/sleep, '60']\n    depends_on: [a]\n"
                      << "  c:\n    backend: " << GetParam() << "\n    command: [/bin/sleep, '60']\n";
  Result cycle = nucleus({"up", "-f", file});
  EXPECT_EQ(cycle.status, 125);
  EXPECT_NE(cycle.err.find("cycle"), std::string::npos) << cycle.err;
  Result unknown = nucleus({"up", "-f", file, "nosuch"});
  EXPECT_EQ(unknown.status, 125);
  EXPECT_NE(unknown.err.find("nosuch"), std::string::npos) << unknown.err;
  EXPECT_TRUE(root_entries().empty());
  std::filesystem::remove(file);
}

INSTANTIATE_TEST_SUITE_P(BothBackends, Services, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace nucleus::test
