// Services (issue 17): detached containers under a monitor of their own, on both backends:
// logs in the CRI format and within their bound, ps/inspect/stop/restart/rm, restart
// policies with back-off, events, a stack, and a monitor's death leaving nothing behind.
// Health, readiness and secrets: services_ready_test.cc. Each test uses a state root of its
// own, removed at the end, so the services of the suite never meet other containers.
#include "tests/integration/services_fixture.h"

namespace nucleus::test {
namespace {

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
  std::string raw = slurp(j["log_path"].get<std::string>());
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
  // The monitor's own cgroup too, before any rm: its run's cleanup removes it.
  const std::string leaf = "/nucleus-" + std::to_string(monitor) + "-monitor";
  EXPECT_TRUE(wait_for([&] {
    for (const std::string& dir : nucleus_cgroups()) {
      if (dir.ends_with(leaf)) return false;
    }
    return true;
  }));
  EXPECT_EQ(events_of(id, "die").size(), 1u);  // said by the cleanup: the monitor could not
  EXPECT_EQ(nucleus({"rm", id}).status, 0);
}

TEST_P(Services, ACrashLoopBacksOff) {
  const std::string id = name("crash");
  ASSERT_EQ(run_d(id, {"--restart", "always"}, {"/bin/sh", "-c", "exit 3"}).status, 0);
  std::this_thread::sleep_for(5s);
  size_t starts = events_of(id, "start").size();
  // 100 ms doubling: about 6 starts in 5 s (3.1 s of back-off after the sixth); without
  // a back-off, hundreds natively and 8 or more under gVisor (0.6 s a start at most).
  EXPECT_GE(starts, 3u);
  EXPECT_LE(starts, 7u);
  json j = inspect(id);
  EXPECT_GE(j["restart_count"].get<int>(), 2);
  // Its last exit's code, seen between two runs: while one runs (a gVisor start is 0.6 s
  // and more on a busy machine) no code is known yet.
  EXPECT_TRUE(wait_for([&] { return inspect(id)["exit_code"] == 3; })) << inspect(id).dump();
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
