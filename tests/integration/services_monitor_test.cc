// Services (issue 17), what surrounds a container rather than the container itself, on both
// backends: the monitor's own cgroup, the health checks' log in `inspect`, the events of
// containers that are not services (a foreground `run`, the OCI verbs), and `logs` of a
// container that has none.
#include <map>
#include <set>

#include "core/sys/scoped.h"
#include "tests/integration/services_fixture.h"

namespace nucleus::test {
namespace {

class ServicesMonitor : public Services {};

// A process's cgroups as /proc/PID/cgroup says: "hierarchy id:controllers" -> path.
std::map<std::string, std::string> cgroups_of(const std::string& pid) {
  std::map<std::string, std::string> out;
  std::istringstream lines(slurp("/proc/" + pid + "/cgroup"));
  for (std::string l; std::getline(lines, l);) {
    size_t colon = l.find(':', l.find(':') + 1);
    if (colon != std::string::npos) out[l.substr(0, colon)] = l.substr(colon + 1);
  }
  return out;
}

// The directories of a monitor's cgroup, wherever they are under /sys/fs/cgroup.
std::set<std::string> monitor_dirs(int monitor) {
  std::set<std::string> out;
  for (const std::string& dir : nucleus_cgroups()) {
    if (dir.ends_with("/nucleus-" + std::to_string(monitor) + "-monitor")) out.insert(dir);
  }
  return out;
}

TEST_P(ServicesMonitor, TheMonitorHasACgroupOfItsOwnBesideItsContainer) {
  const std::string id = name("cg");
  ASSERT_EQ(run_d(id, {}, {"/bin/sleep", "600"}).status, 0);
  json j = inspect(id);
  const int monitor = j["monitor_pid"].get<int>(), pid = j["pid"].get<int>();
  ASSERT_GT(monitor, 0);
  ASSERT_GT(pid, 0);

  // In every hierarchy this process is in (the v1 controllers, systemd's named one, and
  // cgroup2), one directory directly below ours: `run -d` was our child.
  std::map<std::string, std::string> ours = cgroups_of("self"), its = cgroups_of(std::to_string(monitor));
  ASSERT_EQ(its.size(), ours.size());
  const std::string leaf = "/nucleus-" + std::to_string(monitor) + "-monitor";
  for (const auto& [hierarchy, path] : its) {
    const std::string& parent = ours.at(hierarchy);
    EXPECT_EQ(path, (parent == "/" ? "" : parent) + leaf) << hierarchy;
  }
  EXPECT_EQ(monitor_dirs(monitor).size(), its.size());
  // The container is not in it, nor below it: its cgroup is its own, beside the monitor's.
  for (const auto& [hierarchy, path] : cgroups_of(std::to_string(pid))) {
    EXPECT_EQ(path.find("-monitor"), std::string::npos) << hierarchy << " " << path;
  }

  ASSERT_EQ(nucleus({"rm", "-f", id}).status, 0);
  EXPECT_TRUE(monitor_dirs(monitor).empty());  // the monitor removed it as it ended
}

TEST_P(ServicesMonitor, InspectShowsTheLastFiveHealthChecks) {
  const std::string id = name("hlog");
  // Check n prints "out n" and "err n", fails when n is odd, and the third prints 5000 bytes
  // more than the bound keeps.
  const std::string check =
      "n=$(( $(cat /tmp/n 2>/dev/null || echo 0) + 1 )); echo $n > /tmp/n; echo out $n; echo err $n >&2; "
      "if [ $n -eq 3 ]; then head -c 5000 /dev/zero | tr '\\0' y; fi; exit $(( n % 2 ))";
  ASSERT_EQ(run_d(id, {"--health-cmd", check, "--health-interval", "300ms", "--health-retries", "100"},
                  {"/bin/sleep", "600"}).status, 0);
  auto last_n = [&]() -> int {
    json log = inspect(id)["health_log"];
    if (!log.is_array() || log.empty()) return 0;
    std::string out = log.back()["output"].get<std::string>();
    return out.rfind("out ", 0) == 0 ? std::atoi(out.c_str() + 4) : 0;
  };
  ASSERT_TRUE(wait_for([&] { return last_n() >= 7; })) << inspect(id).dump();
  json j = inspect(id);
  json log = j["health_log"];
  ASSERT_EQ(log.size(), 5u) << j.dump();  // the last five, oldest first
  int first = std::atoi(log[0]["output"].get<std::string>().c_str() + 4);
  for (int i = 0; i < 5; ++i) {
    const json& r = log[i];
    int n = first + i;
    EXPECT_EQ(r["exit_code"], n % 2) << r.dump();
    std::string output = r["output"].get<std::string>();
    if (n == 3) {
      EXPECT_EQ(output.size(), 4096u);  // cut at the bound
      EXPECT_EQ(output.rfind("out 3\nerr 3\nyyy", 0), 0u) << output.substr(0, 40);
    } else {
      EXPECT_EQ(output, "out " + std::to_string(n) + "\nerr " + std::to_string(n) + "\n");
    }
    EXPECT_FALSE(r["start"].get<std::string>().empty());
    EXPECT_LE(r["start"].get<std::string>(), r["end"].get<std::string>());
  }
  EXPECT_EQ(nucleus({"rm", "-f", id}).status, 0);
}

TEST_P(ServicesMonitor, EventsTellTheLifeOfForegroundAndOciContainersToo) {
  // A foreground run: its create, start and die, written by its keeper once it has ended.
  const std::string fg = name("fg");
  Result r = nucleus({"run", "--backend", GetParam(), "--rootfs", kRootfs, "--name", fg, "--", "/bin/sh", "-c", "exit 3"});
  ASSERT_EQ(r.status, 3) << r.err;
  ASSERT_TRUE(wait_for([&] { return events_of(fg, "die").size() == 1; }));
  ASSERT_EQ(events_of(fg, "create").size(), 1u);
  ASSERT_EQ(events_of(fg, "start").size(), 1u);
  json die = events_of(fg, "die")[0];
  EXPECT_EQ(die["attributes"]["exit_code"], "3");
  EXPECT_EQ(die["attributes"]["reason"], "exited");
  EXPECT_EQ(die["attributes"]["oom"], "false");
  EXPECT_LE(events_of(fg, "create")[0]["time"].get<std::string>(), events_of(fg, "start")[0]["time"].get<std::string>());
  EXPECT_LE(events_of(fg, "start")[0]["time"].get<std::string>(), die["time"].get<std::string>());

  const std::string killed = name("sig");
  r = nucleus({"run", "--backend", GetParam(), "--rootfs", kRootfs, "--name", killed, "--", "/bin/sh", "-c", "kill -KILL $$"});
  ASSERT_EQ(r.status, 128 + SIGKILL) << r.err;
  ASSERT_TRUE(wait_for([&] { return events_of(killed, "die").size() == 1; }));
  EXPECT_EQ(events_of(killed, "die")[0]["attributes"]["reason"], "signal SIGKILL");

  // The OCI verbs: create, start, and the die seen when it is deleted.
  TempDir bundle("/tmp", "nucleus-it-");
  ASSERT_EQ(nucleus({"spec", "--bundle", bundle.path()}).status, 0);
  json config = json::parse(slurp(bundle.path() + "/config.json"));
  config["root"]["path"] = kRootfs;
  config["process"]["terminal"] = false;
  config["process"]["args"] = {"/bin/true"};
  config["annotations"] = {{"run.nucleus.backend", GetParam()}};
  std::ofstream(bundle.path() + "/config.json") << config.dump(2);
  const std::string oci = name("oci");
  ASSERT_EQ(nucleus({"create", "--bundle", bundle.path(), oci}).status, 0);
  ASSERT_TRUE(wait_for([&] { return events_of(oci, "create").size() == 1; }));  // by its keeper
  EXPECT_TRUE(events_of(oci, "start").empty());
  ASSERT_EQ(nucleus({"start", oci}).status, 0);
  EXPECT_EQ(events_of(oci, "start").size(), 1u);
  ASSERT_TRUE(wait_for([&] { return json::parse(nucleus({"state", oci}).out, nullptr, false).value("status", "") == "stopped"; }));
  ASSERT_EQ(nucleus({"delete", oci}).status, 0);
  ASSERT_EQ(events_of(oci, "die").size(), 1u);
  EXPECT_EQ(events_of(oci, "die")[0]["attributes"]["reason"], "exited");

  // Listed in the order they happened, though a foreground run's come once it has ended.
  std::istringstream lines(nucleus({"events", "--format", "json"}).out);
  std::string previous;
  for (std::string l; std::getline(lines, l);) {
    std::string time = json::parse(l)["time"].get<std::string>();
    EXPECT_LE(previous, time) << l;
    previous = time;
  }
}

TEST_P(ServicesMonitor, LogsOfAContainerWithoutALogSaySoInOneLine) {
  const std::string id = name("nolog");
  NucleusProcess held({"--root", root_, "run", "--backend", GetParam(), "--rootfs", kRootfs, "--name", id, "--",
                       "/bin/sleep", "600"});
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(root_ + "/" + id + "/state.json"); }));
  Result logs = nucleus({"logs", id});
  EXPECT_EQ(logs.status, 125);
  EXPECT_EQ(logs.out, "");
  EXPECT_EQ(std::count(logs.err.begin(), logs.err.end(), '\n'), 1) << logs.err;
  EXPECT_NE(logs.err.find(id + ": has no log"), std::string::npos) << logs.err;
  Result none = nucleus({"logs", name("nosuch")});
  EXPECT_EQ(none.status, 125);
  EXPECT_NE(none.err.find("no such container"), std::string::npos) << none.err;
  ::kill(held.pid(), SIGTERM);
  held.wait();
  // Its keeper removes what is left once it has exited.
  EXPECT_TRUE(wait_for([&] { return root_entries().empty(); }));
}

INSTANTIATE_TEST_SUITE_P(BothBackends, ServicesMonitor, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace nucleus::test
