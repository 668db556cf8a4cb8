// Issue #5: resource limits hold on this hybrid host for both backends, observed from
// inside (fork fails with EAGAIN, the OOM kill) and from outside (CPU time in the
// container's cgroup, `nucleus stats`), and nothing is left afterwards, even when nucleus
// itself is SIGKILLed mid-run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using namespace std::chrono_literals;

class Resources : public ContainerTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::vector<std::string> run_args(std::vector<std::string> extra, std::vector<std::string> command) const {
    std::vector<std::string> a = {"run", "--backend", GetParam(), "--rootfs", kRootfs};
    if (GetParam() == "gvisor") a = {"run", "--isolation", "untrusted", "--rootfs", kRootfs};
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back("--");
    a.insert(a.end(), command.begin(), command.end());
    return a;
  }
  Result run(std::vector<std::string> extra, std::vector<std::string> command) const {
    return run_nucleus(run_args(std::move(extra), std::move(command)));
  }
  std::string name(const std::string& base) const { return base + "-" + GetParam(); }
};

// `nucleus stats --format json NAME` once the container is running, or null.
nlohmann::json stats_json(const std::string& name) {
  Result r = run_nucleus({"stats", "--format", "json", name});
  if (r.status != 0) return nullptr;
  return nlohmann::json::parse(r.out);
}

nlohmann::json wait_for_stats(const std::string& name) {
  for (auto end = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < end;) {
    nlohmann::json j = stats_json(name);
    if (!j.is_null() && j["status"] == "running") return j;
    std::this_thread::sleep_for(50ms);
  }
  return nullptr;
}

long forked_count(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex("forkbomb forked=(\\d+)")) ? std::stol(m[1]) : -1;
}

TEST_P(Resources, ForkBombStopsAtThePidsLimit) {
  Result r = run({"--pids-limit", "64"}, {"/nprobe", "forkbomb"});
  // The probe itself and PID 1 count too; fork then fails with EAGAIN and the bomb ends.
  long forked = forked_count(r.out);
  EXPECT_GE(forked, 50) << r.out << r.err;
  EXPECT_LE(forked, 63) << r.out << r.err;
  EXPECT_NE(r.out.find("forkbomb ret=-1 errno=EAGAIN"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.status, EAGAIN) << r.err;
  // The host is unaffected: it still starts processes.
  EXPECT_EQ(std::system("/bin/true"), 0);
}

TEST_P(Resources, DefaultPidsLimitIs1024) {
  Result r = run({}, {"/nprobe", "forkbomb"});
  long forked = forked_count(r.out);
  EXPECT_GE(forked, 1000) << r.out << r.err;
  EXPECT_LE(forked, 1023) << r.out << r.err;
}

TEST_P(Resources, MemoryHogEndsWith137AndTheOomLine) {
  Result r = run({"--memory", "64M"}, {"/nprobe", "memhog", "256"});
  EXPECT_EQ(r.status, 137) << r.out << r.err;
  EXPECT_NE(r.err.find("nucleus: workload killed: out of memory (limit 64MiB)\n"), std::string::npos) << r.err;
  // Below the limit nothing is said.
  Result fine = run({"--memory", "64M"}, {"/nprobe", "memhog", "16"});
  EXPECT_EQ(fine.status, 0) << fine.err;
  EXPECT_EQ(fine.err.find("out of memory"), std::string::npos) << fine.err;
}

TEST_P(Resources, CpuQuotaKeepsASpinnerNearTwentyPercent) {
  NucleusProcess p(run_args({"--cpus", "0.2", "--name", name("spin")}, {"/nprobe", "spin", "2", "5"}));
  ASSERT_FALSE(wait_for_stats(name("spin")).is_null());
  std::this_thread::sleep_for(1s);  // past the sandbox's boot
  auto t0 = std::chrono::steady_clock::now();
  nlohmann::json a = stats_json(name("spin"));
  std::this_thread::sleep_for(1500ms);
  nlohmann::json b = stats_json(name("spin"));
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_FALSE(a.is_null() || b.is_null());
  double cpu = (b["cpu_usec"].get<double>() - a["cpu_usec"].get<double>()) / 1e6;
  double share = cpu / std::chrono::duration<double>(t1 - t0).count();
  // Two spinners would take two CPUs; the quota holds them near 0.2 of one.
  EXPECT_GT(share, 0.12);
  EXPECT_LT(share, 0.30);
  EXPECT_GT(b["cpu_throttled"].get<uint64_t>(), 0u);  // RES-03: the quota, not idleness
  Result r = p.wait();
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_P(Resources, StatsReportsANamedContainer) {
  NucleusProcess p(run_args({"--name", name("stats"), "--memory", "100M"}, {"/bin/sleep", "4"}));
  nlohmann::json j = wait_for_stats(name("stats"));
  ASSERT_FALSE(j.is_null());
  // "running" comes as soon as the container's first process is in its cgroup (under
  // gVisor: runsc, before its sandbox and gofer): wait for the rest, within the deadline.
  for (auto end = std::chrono::steady_clock::now() + 30s;
       !j.is_null() && j["pids"]["current"].is_number() && j["pids"]["current"].get<uint64_t>() < 2 &&
       std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(20ms);
    j = stats_json(name("stats"));
  }
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["name"], name("stats"));
  EXPECT_EQ(j["backend"], GetParam());
  EXPECT_EQ(j["memory"]["limit"], 100 << 20);
  EXPECT_GT(j["memory"]["current"].get<uint64_t>(), 0u);
  EXPECT_GE(j["memory"]["peak"].get<uint64_t>(), j["memory"]["current"].get<uint64_t>());
  EXPECT_GE(j["pids"]["current"].get<uint64_t>(), 2u);  // PID 1 and sleep at least
  Result text = run_nucleus({"stats", name("stats")});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("limit 100MiB"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("CPU      "), std::string::npos) << text.out;
  // The name is taken while it runs.
  Result twin = run({"--name", name("stats")}, {"/bin/true"});
  EXPECT_EQ(twin.status, 125);
  EXPECT_NE(twin.err.find("already in use by a running container"), std::string::npos) << twin.err;
  EXPECT_EQ(p.wait().status, 0);
  Result gone = run_nucleus({"stats", name("stats")});
  EXPECT_EQ(gone.status, 125);
  EXPECT_EQ(gone.err, "nucleus: " + name("stats") + ": container does not exist\n");
}

TEST_P(Resources, NothingIsLeftAfterNucleusIsKilledMidRun) {
  NucleusProcess p(run_args({"--name", name("victim"), "--memory", "64M"}, {"/bin/sleep", "30"}));
  ASSERT_FALSE(wait_for_stats(name("victim")).is_null());
  ASSERT_FALSE(nucleus_cgroups().empty());
  ::kill(p.pid(), SIGKILL);  // our own child
  EXPECT_EQ(p.wait().status, 137);
  // The cleanup keeper removes the container, its cgroups and its record; nothing else
  // has to run.
  bool clean = false;
  for (auto end = std::chrono::steady_clock::now() + 30s; !clean && std::chrono::steady_clock::now() < end;) {
    clean = take_leak_snapshot() == baseline();
    if (!clean) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(clean) << describe_difference(baseline(), take_leak_snapshot());
}

INSTANTIATE_TEST_SUITE_P(BothBackends, Resources, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

class ResourcesNative : public ContainerTest {};

// A cgroup namespace: the workload sees its own cgroup as the root of every hierarchy, and
// /sys/fs/cgroup, where present, refuses writes.
TEST_F(ResourcesNative, CgroupNamespaceHidesTheHierarchy) {
  Result r = run_sh("grep -v ':/$' /proc/self/cgroup; mkdir /sys/fs/cgroup/x 2>/dev/null || echo refused",
                    {"--rootfs", kRootfs, "--memory", "64M"});
  EXPECT_EQ(r.out, "refused\n") << r.err;
  Result host_view = run_sh("mkdir /sys/fs/cgroup/x 2>/dev/null || echo refused");
  EXPECT_EQ(host_view.out, "refused\n") << host_view.err;
}

// A cgroup left by a nucleus that died with its keeper is removed by the next run, once
// empty; one that still holds processes is left alone.
TEST_F(ResourcesNative, StaleCgroupsAreCollectedByTheNextRun) {
  std::ifstream self("/proc/self/cgroup");
  std::string line, own;
  while (std::getline(self, line)) {
    if (line.find(":pids:") != std::string::npos) own = line.substr(line.find(":pids:") + 6);
  }
  ASSERT_FALSE(own.empty());
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string base = "/sys/fs/cgroup/pids" + (own == "/" ? "" : own);
  std::string empty = base + "/nucleus-" + std::to_string(dead) + "-aaaaaa";
  std::string busy = base + "/nucleus-" + std::to_string(dead) + "-bbbbbb";
  ASSERT_EQ(::mkdir(empty.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(busy.c_str(), 0755), 0);
  pid_t sleeper = ::fork();
  if (sleeper == 0) {
    ::pause();
    ::_exit(0);
  }
  std::ofstream(busy + "/cgroup.procs") << sleeper;
  EXPECT_EQ(run_sh("true", {"--rootfs", kRootfs}).status, 0);
  EXPECT_NE(::access(empty.c_str(), F_OK), 0) << empty;
  EXPECT_EQ(::access(busy.c_str(), F_OK), 0) << busy;
  ::kill(sleeper, SIGKILL);  // our own child
  ::waitpid(sleeper, nullptr, 0);
  ::rmdir(busy.c_str());
  ::rmdir(empty.c_str());
}

// A container's cgroup stays empty until the child joins it, once its root is built; the
// same run's stale-cgroup collection must leave it alone whatever nucleus's binary is called
// (it once judged liveness by the name "nucleus" alone).
TEST_F(ResourcesNative, ARenamedBinaryKeepsItsOwnCgroup) {
  char dir[] = "/tmp/nucleus-it-renamed-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string copy = std::string(dir) + "/sandbox-runner";
  std::filesystem::copy_file(kNucleus, copy);
  ::chmod(copy.c_str(), 0755);
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl(copy.c_str(), copy.c_str(), "run", "--rootfs", kRootfs.c_str(), "--pids-limit", "64", "--", "/bin/true",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::unlink(copy.c_str());
  ::rmdir(dir);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

// nucleus starts its child on another CPU than its own (clone.h); the child takes the
// caller's affinity back before anything of the workload exists.
TEST_F(ResourcesNative, TheWorkloadHasTheCallersCpuAffinity) {
  std::ifstream self("/proc/self/status");
  std::string line, mine;
  while (std::getline(self, line)) {
    if (line.rfind("Cpus_allowed_list:", 0) == 0) mine = line;
  }
  ASSERT_FALSE(mine.empty());
  Result r = run_sh("grep Cpus_allowed_list: /proc/self/status /proc/1/status | cut -d: -f2-", {"--rootfs", kRootfs});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, mine + "\n" + mine + "\n");
}

TEST_F(ResourcesNative, RootlessLimitsNeedDelegation) {
  RunOptions unprivileged;
  unprivileged.unprivileged = true;
  Result limited = run_sh("true", {"--memory", "64M"}, unprivileged);
  EXPECT_EQ(limited.status, 125);
  EXPECT_NE(limited.err.find("resource limits for a non-root caller"), std::string::npos) << limited.err;
  EXPECT_NE(limited.err.find("delegation"), std::string::npos) << limited.err;
  EXPECT_EQ(std::count(limited.err.begin(), limited.err.end(), '\n'), 1) << limited.err;
  Result plain = run_sh("echo ran", {}, unprivileged);
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.out, "ran\n");
}

TEST_F(ResourcesNative, BadResourceValuesAreOneLineErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--memory", "0"}, "nucleus: --memory: memory limit '0' is below the minimum of 6MiB\n"},
      {{"--memory", "12Q"}, "nucleus: --memory: invalid size '12Q'"},
      {{"--cpus", "0"}, "nucleus: --cpus: invalid CPU count '0'"},
      {{"--cpus", "-1"}, "nucleus: --cpus: invalid CPU count '-1'"},
      {{"--cpus", "1e999"}, "nucleus: --cpus: invalid CPU count"},
      {{"--pids-limit", "0"}, "nucleus: --pids-limit: invalid pids limit '0'"},
      {{"--pids-limit", "99999999999999999999"}, "nucleus: --pids-limit: invalid pids limit"},
      {{"--io-weight", "0"}, "nucleus: --io-weight: invalid weight '0' (1 to 10000)\n"},
      {{"--io-weight", "10001"}, "nucleus: --io-weight: invalid weight '10001' (1 to 10000)\n"},
      {{"--io-max", "8:0"}, "nucleus: --io-max: '8:0': no limit given"},
      {{"--io-max", "sda wbps=1M"}, "nucleus: --io-max: 'sda wbps=1M': the device must be MAJ:MIN"},
      {{"--cgroup-parent", "../escape"}, "nucleus: --cgroup-parent: '../escape' must be a cgroup path without '..'"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> a = {"run"};
    a.insert(a.end(), flags.begin(), flags.end());
    a.insert(a.end(), {"--", "/bin/true"});
    Result r = run_nucleus(a);
    EXPECT_EQ(r.status, 125) << flags[0] << " " << flags[1];
    EXPECT_EQ(r.err.rfind(message, 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace nucleus::test
