// One container model (issue 12): a container started by `run` has a record like any other,
// and every verb reaches it while it runs, on both backends; its record is gone when it
// ends, also when nucleus itself is killed.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/sys/scoped.h"
#include "tests/integration/harness.h"
#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class ContainerModel : public ContainerTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string name(const std::string& base) const { return base + "-" + GetParam() + "-" + std::to_string(::getpid()); }

  std::vector<std::string> run_args(std::vector<std::string> extra, std::vector<std::string> command) const {
    std::vector<std::string> args = {"run", "--backend", GetParam(), "--rootfs", kRootfs};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }

  // The container's entry in `nucleus list --format json`, or null.
  json listed(const std::string& id) const {
    Result r = run_nucleus({"list", "--format", "json"});
    json all = json::parse(r.out, nullptr, false);
    if (!all.is_array()) return nullptr;
    for (const json& c : all) {
      if (c.value("id", "") == id) return c;
    }
    return nullptr;
  }

  // Waits until `list` shows the container running (its workload started).
  bool wait_running(const std::string& id) const {
    for (auto end = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < end;) {
      json c = listed(id);
      if (!c.is_null() && c["status"] == "running") return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
};

TEST_P(ContainerModel, EveryVerbReachesARunContainer) {
  const std::string id = name("svc");
  NucleusProcess p(run_args({"--name", id, "-e", "FROM_RUN=1", "-w", "/tmp"}, {"/bin/sleep", "60"}));
  ASSERT_TRUE(wait_running(id)) << run_nucleus({"list"}).out;

  Result state = run_nucleus({"state", id});
  ASSERT_EQ(state.status, 0) << state.err;
  json s = json::parse(state.out);
  EXPECT_EQ(s["id"], id);
  EXPECT_EQ(s["status"], "running");
  EXPECT_GT(s["pid"].get<int>(), 0);

  // exec starts from the container's own process (its environment, its directory), and the
  // flags change it; its status and output come back.
  Result inherited = run_nucleus({"exec", id, "/bin/sh", "-c", "echo $FROM_RUN; pwd; id -u"});
  EXPECT_EQ(inherited.status, 0) << inherited.err;
  EXPECT_EQ(inherited.out, "1\n/tmp\n0\n");
  Result changed = run_nucleus({"exec", "-e", "FOO=bar", "-u", "1000:1000", "--cwd", "/", id, "/bin/sh", "-c",
                                "echo out; echo $FOO; id -u; id -g; pwd; exit 3"});
  EXPECT_EQ(changed.status, 3) << changed.err;
  EXPECT_EQ(changed.out, "out\nbar\n1000\n1000\n/\n");
  // A user alone, by id or name, as `docker exec -u` takes it: its group and HOME from the
  // image's passwd (app is 1000:1000, /home/app); one without an entry gets gid 0 and /.
  for (const char* user : {"1000", "app"}) {
    Result as_user = run_nucleus({"exec", "-u", user, id, "/bin/sh", "-c", "echo $(id -u) $(id -g) $HOME"});
    EXPECT_EQ(as_user.out, "1000 1000 /home/app\n") << user << as_user.err;
  }
  EXPECT_EQ(run_nucleus({"exec", "-u", "4242", id, "/bin/sh", "-c", "echo $(id -u) $(id -g) $HOME"}).out, "4242 0 /\n");
  EXPECT_NE(run_nucleus({"exec", "-u", "ghost", id, "/bin/true"}).err.find("user 'ghost': not found"), std::string::npos);
  if (GetParam() == "native") {  // the live root's passwd: a user added since the start counts
    ASSERT_EQ(run_nucleus({"exec", id, "/bin/sh", "-c", "echo 'late:x:2000:2001::/tmp:/bin/sh' >> /etc/passwd"}).status, 0);
    EXPECT_EQ(run_nucleus({"exec", "-u", "late", id, "/bin/sh", "-c", "echo $(id -u) $(id -g) $HOME"}).out, "2000 2001 /tmp\n");
  }

  // ps: its processes; stats: its cgroup.
  Result ps = run_nucleus({"ps", "--format", "json", id});
  ASSERT_EQ(ps.status, 0) << ps.err;
  EXPECT_GE(json::parse(ps.out).size(), 1u) << ps.out;
  Result stats = run_nucleus({"stats", "--format", "json", id});
  ASSERT_EQ(stats.status, 0) << stats.err;
  EXPECT_GE(json::parse(stats.out)["pids"]["current"].get<int>(), 1) << stats.out;

  // pause and resume.
  ASSERT_EQ(run_nucleus({"pause", id}).status, 0);
  EXPECT_EQ(json::parse(run_nucleus({"state", id}).out)["status"], "paused");
  Result frozen = run_nucleus({"exec", id, "/bin/true"});
  EXPECT_EQ(frozen.status, 125);
  EXPECT_NE(frozen.err.find("cannot exec in a container that is paused"), std::string::npos) << frozen.err;
  ASSERT_EQ(run_nucleus({"resume", id}).status, 0);
  EXPECT_EQ(json::parse(run_nucleus({"state", id}).out)["status"], "running");

  // A second container of that name is refused while the first runs, and nothing of it
  // runs. (A native run claims its record once its child is cloned, before releasing it:
  // the twin's command, with no Landlock ruleset to wait for under `trusted`, never runs.)
  TempDir shared("/tmp", "model-twin-");
  ASSERT_EQ(::chmod(shared.path().c_str(), 0777), 0);
  Result twin = run_nucleus(run_args({"--name", id, "--isolation", "trusted", "-v", shared.path() + ":/d"},
                                     {"/bin/sh", "-c", "touch /d/ran"}));
  EXPECT_EQ(twin.status, 125);
  EXPECT_EQ(twin.err, "nucleus: --name: '" + id + "' is already in use by a running container\n");
  EXPECT_NE(::access((shared.path() + "/ran").c_str(), F_OK), 0) << "the refused twin ran its command";
  EXPECT_EQ(run_nucleus({"exec", id, "/bin/true"}).status, 0);  // the first is untouched

  // A signal through `kill` ends the workload: the foreground run exits 128+15.
  ASSERT_EQ(run_nucleus({"kill", id, "TERM"}).status, 0);
  Result ended = p.wait();
  EXPECT_EQ(ended.status, 143) << ended.err;
  // Its record went with it.
  EXPECT_TRUE(listed(id).is_null());
  Result gone = run_nucleus({"state", id});
  EXPECT_EQ(gone.status, 125);
  EXPECT_EQ(gone.err, "nucleus: " + id + ": container does not exist\n");
}

TEST_P(ContainerModel, AnUnnamedRunHasAGeneratedIdWhileItRuns) {
  NucleusProcess p(run_args({}, {"/bin/sh", "-c", "echo started; sleep 60"}));
  ASSERT_TRUE(p.wait_for_output("started"));
  std::string id;
  for (const json& c : json::parse(run_nucleus({"list", "--format", "json"}).out)) {
    std::string candidate = c["id"];
    if (candidate.size() == 12 && candidate.find_first_not_of("0123456789abcdef") == std::string::npos) id = candidate;
  }
  ASSERT_FALSE(id.empty()) << run_nucleus({"list"}).out;
  EXPECT_EQ(run_nucleus({"exec", id, "/bin/true"}).status, 0);
  ASSERT_EQ(run_nucleus({"kill", id, "KILL"}).status, 0);
  EXPECT_EQ(p.wait().status, 137);
  EXPECT_TRUE(listed(id).is_null());
}

// An exec'd process carries the container's seccomp profile as its workload does (runc's
// exec semantics; `runsc exec` alone starts it bare: the Sentry then answers keyctl EACCES),
// and a missing command is said as for the workload (127).
TEST_P(ContainerModel, AnExecdProcessCarriesTheContainersSeccompProfile) {
  const std::string id = name("filtered");
  NucleusProcess p(run_args({"--name", id}, {"/bin/sleep", "60"}));
  ASSERT_TRUE(wait_running(id));
  Result r = run_nucleus({"exec", id, "/bin/sh", "-c", "grep '^Seccomp:' /proc/self/status; /nprobe sys keyctl"});
  EXPECT_EQ(r.out, "Seccomp:\t2\nkeyctl ret=-1 errno=EPERM\n");
  // Also for a process that asks for no no_new_privs (an OCI process file): under gVisor the
  // filter's load needs it, and the container's own process has it.
  std::string process = "/tmp/nucleus-it-process-" + id + ".json";
  {
    std::ofstream(process) << R"({"args": ["/bin/sh", "-c", "grep '^Seccomp:' /proc/self/status"], "cwd": "/",
                                 "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}, "noNewPrivileges": false})";
  }
  Result from_file = run_nucleus({"exec", "--process", process, id});
  ::unlink(process.c_str());
  EXPECT_EQ(from_file.status, 0) << from_file.err;
  EXPECT_EQ(from_file.out, "Seccomp:\t2\n");
  Result missing = run_nucleus({"exec", id, "/no/such/command"});
  EXPECT_EQ(missing.status, 127);
  EXPECT_NE(missing.err.find("/no/such/command"), std::string::npos) << missing.err;
  ASSERT_EQ(run_nucleus({"kill", id, "KILL"}).status, 0);
  EXPECT_EQ(p.wait().status, 137);
}

// An exec in the foreground is the process's stand-in, as runc's and runsc's are: the
// caller's signals reach the process (also with --pid-file), its status is the caller's
// (128+N when a signal ended it), its stdin is the caller's. Under gVisor nucleus asks the sandbox itself
// (backends/gvisor/runsc/sandbox_control.h): it stays nucleus and starts no runsc.
TEST_P(ContainerModel, AForegroundExecForwardsSignalsStdinAndStatus) {
  const std::string id = name("fg");
  NucleusProcess p(run_args({"--name", id}, {"/bin/sleep", "60"}));
  ASSERT_TRUE(wait_running(id));

  // With --pid-file too (runc's exec as a caller that watches the process names it): the
  // file names the process that stands for the exec'd one.
  const std::string pid_file = "/tmp/nucleus-it-exec-pid-" + id;
  NucleusProcess trapping({"exec", "--pid-file", pid_file, id, "/bin/sh", "-c",
                           "trap 'echo got TERM; exit 7' TERM; echo ready; sleep 30 & wait"});
  ASSERT_TRUE(trapping.wait_for_output("ready"));
  std::string named;
  std::getline(std::ifstream(pid_file), named);
  ::unlink(pid_file.c_str());
  ASSERT_FALSE(named.empty());
  if (GetParam() == "gvisor") {
    EXPECT_EQ(std::stoi(named), trapping.pid());  // nucleus itself waits and forwards
  } else {
    std::string stat;  // the exec'd process, nucleus's child (its subreaper)
    std::getline(std::ifstream("/proc/" + named + "/stat"), stat);
    ASSERT_FALSE(stat.empty());
    EXPECT_EQ(std::stoi(stat.substr(stat.rfind(')') + 4)), trapping.pid()) << stat;
  }
  if (GetParam() == "gvisor") {
    // nucleus itself waits (no runsc exec took its place) and has no child process.
    char exe[4096] = {};
    ssize_t n = ::readlink(("/proc/" + std::to_string(trapping.pid()) + "/exe").c_str(), exe, sizeof exe - 1);
    EXPECT_EQ(std::string(exe, n > 0 ? static_cast<size_t>(n) : 0), kNucleus);
    std::ifstream children("/proc/" + std::to_string(trapping.pid()) + "/task/" + std::to_string(trapping.pid()) + "/children");
    std::string listed_children;
    std::getline(children, listed_children);
    EXPECT_EQ(listed_children, "");
  }
  ASSERT_EQ(::kill(trapping.pid(), SIGTERM), 0);
  Result trapped = trapping.wait();
  EXPECT_EQ(trapped.status, 7) << trapped.err;
  EXPECT_EQ(trapped.out, "ready\ngot TERM\n");

  Result killed = run_nucleus({"exec", id, "/bin/sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(killed.status, 137) << killed.err;

  FILE* piped = ::popen(("echo piped | " + kNucleus + " exec " + id + " /bin/sh -c 'read line; echo \"[$line]\"'").c_str(), "r");
  ASSERT_NE(piped, nullptr);
  char line[64] = {};
  std::string got = std::fgets(line, sizeof line, piped) ? line : "";
  EXPECT_EQ(::pclose(piped), 0);
  EXPECT_EQ(got, "[piped]\n");

  ASSERT_EQ(run_nucleus({"kill", id, "KILL"}).status, 0);
  EXPECT_EQ(p.wait().status, 137);
}

TEST_P(ContainerModel, UpdateChangesALiveRunContainersLimits) {
  const std::string id = name("upd");
  NucleusProcess p(run_args({"--name", id, "--pids-limit", "100"}, {"/bin/sleep", "60"}));
  ASSERT_TRUE(wait_running(id));
  ASSERT_EQ(run_nucleus({"update", "--pids-limit", "50", id}).status, 0);
  json stats = json::parse(run_nucleus({"stats", "--format", "json", id}).out);
  // gVisor's sandbox is charged on the host: the limit there is scaled for the Sentry's
  // threads (16 per guest task, 256 for itself).
  EXPECT_EQ(stats["pids"]["limit"].get<int>(), GetParam() == "gvisor" ? 50 * 16 + 256 : 50) << stats;
  // A limit whose v1 hierarchy the container was made without is refused, never skipped.
  Result cpus = run_nucleus({"update", "--cpu-quota", "50000", id});
  if (::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
    EXPECT_EQ(cpus.status, 0) << cpus.err;
  } else {
    EXPECT_EQ(cpus.status, 125);
    EXPECT_EQ(cpus.err, "nucleus: " + id + ": its cgroup has no cpu hierarchy (cgroup v1: a container gets the "
                        "hierarchies of the limits it starts with)\n");
  }
  ASSERT_EQ(run_nucleus({"delete", "--force", id}).status, 0);
  EXPECT_EQ(p.wait().status, 137);
  EXPECT_TRUE(listed(id).is_null());
}

TEST_P(ContainerModel, TheRecordGoesWhenNucleusIsKilled) {
  const std::string id = name("victim");
  NucleusProcess p(run_args({"--name", id}, {"/bin/sleep", "60"}));
  ASSERT_TRUE(wait_running(id));
  ::kill(p.pid(), SIGKILL);  // our own child
  EXPECT_EQ(p.wait().status, 137);
  // The cleanup keeper deletes it as `delete --force` would: the record, the cgroup, the
  // sandbox.
  bool clean = false;
  for (auto end = std::chrono::steady_clock::now() + 30s; !clean && std::chrono::steady_clock::now() < end;) {
    clean = take_leak_snapshot() == baseline();
    if (!clean) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(clean) << describe_difference(baseline(), take_leak_snapshot());
  EXPECT_TRUE(listed(id).is_null());
  // The name is free again.
  EXPECT_EQ(run_nucleus(run_args({"--name", id}, {"/bin/true"})).status, 0);
}

INSTANTIATE_TEST_SUITE_P(BothBackends, ContainerModel, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace nucleus::test
