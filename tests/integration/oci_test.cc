// Issue #6: the OCI verbs on both backends, driven as an orchestrator would: a bundle from
// `nucleus spec`, then create, state, start, exec, kill, delete under a private --root; a
// corrupted state entry; two concurrent creates of one id; a refused config field.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"

namespace nucleus::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class Oci : public ContainerTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (IsSkipped()) return;
    dir_.emplace("/tmp", "nucleus-it-");
    root_ = dir_->path() + "/state";
    bundle_ = dir_->path() + "/bundle";
    ASSERT_EQ(::mkdir(bundle_.c_str(), 0755), 0);
    ASSERT_EQ(run_nucleus({"spec", "--bundle", bundle_}).status, 0);
  }
  void TearDown() override {
    if (dir_) {
      // Whatever a failed test left: delete --force every container of our root.
      Result list = nucleus({"list", "--quiet"});
      std::istringstream ids(list.out);
      for (std::string id; std::getline(ids, id);) nucleus({"delete", "--force", id});
    }
    ContainerTest::TearDown();
  }

  // The bundle's config.json, with `change` applied: the busybox rootfs, no terminal, the
  // backend under test.
  void write_config(const std::vector<std::string>& args, const std::function<void(json&)>& change = {}) {
    std::ifstream in(bundle_ + "/config.json");
    json c = json::parse(in);
    c["root"]["path"] = kRootfs;
    c["process"]["terminal"] = false;
    c["process"]["args"] = args;
    c["annotations"] = {{"run.nucleus.backend", GetParam()}};
    if (change) change(c);
    std::ofstream(bundle_ + "/config.json") << c.dump(2);
  }
  Result nucleus(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root_});
    return run_nucleus(args);
  }
  Result create(const std::string& id) const {
    return nucleus({"create", "--bundle", bundle_, "--pid-file", dir_->path() + "/" + id + ".pid", id});
  }
  json state(const std::string& id) const {
    Result r = nucleus({"state", id});
    return r.status == 0 ? json::parse(r.out) : json{{"error", r.err}};
  }
  // Waits until the container's status is `want`.
  bool wait_status(const std::string& id, const std::string& want) const {
    for (auto end = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < end;) {
      if (state(id).value("status", "") == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::optional<TempDir> dir_;
  std::string root_, bundle_;
};

TEST_P(Oci, LifecycleCreateStartExecKillDelete) {
  write_config({"/bin/sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"});
  Result created = create("life");
  ASSERT_EQ(created.status, 0) << created.err;
  json s = state("life");
  EXPECT_EQ(s["status"], "created") << s.dump();
  EXPECT_EQ(s["id"], "life");
  EXPECT_EQ(s["bundle"], bundle_);
  std::ifstream pid_file(dir_->path() + "/life.pid");
  int pid = 0;
  pid_file >> pid;
  EXPECT_EQ(s["pid"].get<int>(), pid);
  EXPECT_GT(pid, 0);

  // A created container has not run its command: exec is refused until start.
  EXPECT_EQ(nucleus({"exec", "life", "/bin/true"}).status, 125);
  ASSERT_EQ(nucleus({"start", "life"}).status, 0);
  EXPECT_TRUE(wait_status("life", "running"));
  EXPECT_EQ(nucleus({"start", "life"}).status, 125);  // only once

  // exec: the same pid namespace (PID 1 is the container's command), the exit status passes.
  Result in = nucleus({"exec", "life", "/bin/sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; exit 3"});
  EXPECT_EQ(in.status, 3) << in.err;
  EXPECT_EQ(in.out.rfind("/bin/sh -c trap", 0), 0u) << in.out;
  Result env = nucleus({"exec", "--env", "LD_PRELOAD=/x.so", "--env", "MINE=1", "life", "/bin/sh", "-c", "echo ${LD_PRELOAD:-none} $MINE"});
  EXPECT_EQ(env.out, "none 1\n") << env.err;

  // A live container is not deleted without --force.
  Result refused = nucleus({"delete", "life"});
  EXPECT_EQ(refused.status, 125);
  EXPECT_NE(refused.err.find("running"), std::string::npos) << refused.err;

  ASSERT_EQ(nucleus({"kill", "life", "TERM"}).status, 0);
  EXPECT_TRUE(wait_status("life", "stopped"));
  Result deleted = nucleus({"delete", "life"});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  Result gone = nucleus({"state", "life"});
  EXPECT_EQ(gone.status, 125);
  EXPECT_EQ(gone.err, "nucleus: life: container does not exist\n");  // runc's words
}

TEST_P(Oci, DeleteForceKillsALiveContainer) {
  write_config({"/bin/sleep", "60"});
  ASSERT_EQ(create("doomed").status, 0);
  ASSERT_EQ(nucleus({"start", "doomed"}).status, 0);
  ASSERT_TRUE(wait_status("doomed", "running"));
  Result listed = nucleus({"list", "--format", "json"});
  ASSERT_EQ(listed.status, 0);
  EXPECT_EQ(json::parse(listed.out).at(0)["id"], "doomed");
  Result r = nucleus({"delete", "--force", "doomed"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nucleus({"list", "--quiet"}).out, "");
}

TEST_P(Oci, KilledBySignalAndPausing) {
  write_config({"/bin/sleep", "60"});
  ASSERT_EQ(create("paused").status, 0);
  ASSERT_EQ(nucleus({"start", "paused"}).status, 0);
  ASSERT_TRUE(wait_status("paused", "running"));
  ASSERT_EQ(nucleus({"pause", "paused"}).status, 0);
  EXPECT_EQ(state("paused")["status"], "paused");
  EXPECT_EQ(nucleus({"pause", "paused"}).status, 125);
  ASSERT_EQ(nucleus({"resume", "paused"}).status, 0);
  EXPECT_EQ(state("paused")["status"], "running");
  ASSERT_EQ(nucleus({"kill", "paused", "9"}).status, 0);
  EXPECT_TRUE(wait_status("paused", "stopped"));
  EXPECT_EQ(nucleus({"kill", "paused", "NOSUCHSIG"}).status, 125);
  EXPECT_EQ(nucleus({"delete", "paused"}).status, 0);
}

TEST_P(Oci, CorruptedStateIsReportedAndRemovedByDeleteForce) {
  write_config({"/bin/sleep", "60"});
  ASSERT_EQ(create("broken").status, 0);
  ASSERT_EQ(nucleus({"start", "broken"}).status, 0);
  ASSERT_TRUE(wait_status("broken", "running"));
  // Keep what delete needs to clean up (the container is alive), then garble the record.
  std::ofstream(root_ + "/broken/state.json") << "{ not json";
  Result s = nucleus({"state", "broken"});
  EXPECT_EQ(s.status, 125);
  EXPECT_NE(s.err.find("delete --force removes it"), std::string::npos) << s.err;
  EXPECT_NE(nucleus({"list"}).out.find("unknown"), std::string::npos);
  EXPECT_EQ(nucleus({"delete", "broken"}).status, 125);
  Result forced = nucleus({"delete", "--force", "broken"});
  EXPECT_EQ(forced.status, 0) << forced.err;
  EXPECT_NE(::access((root_ + "/broken").c_str(), F_OK), 0);
  // The container it described is gone too (the fixture's leak check: no process, no cgroup).
}

TEST_P(Oci, ConcurrentCreatesOfOneIdExactlyOneWins) {
  write_config({"/bin/sleep", "60"});
  std::vector<std::unique_ptr<NucleusProcess>> racers;
  for (int i = 0; i < 4; ++i) {
    racers.push_back(std::make_unique<NucleusProcess>(std::vector<std::string>{
        "--root", root_, "create", "--bundle", bundle_, "twin"}));
  }
  int won = 0, lost = 0;
  for (auto& p : racers) {
    Result r = p->wait();
    if (r.status == 0) ++won;
    if (r.status == 125 && r.err.find("already exists") != std::string::npos) ++lost;
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(lost, 3);
  EXPECT_EQ(state("twin")["status"], "created");
  EXPECT_EQ(nucleus({"delete", "twin"}).status, 0);
}

TEST_P(Oci, AFieldNucleusCannotHonourIsRefusedAndNothingIsLeft) {
  write_config({"/bin/true"}, [](json& c) { c["linux"]["intelRdt"] = {{"closID", "x"}}; });
  Result r = create("rdt");
  EXPECT_EQ(r.status, 125);
  EXPECT_EQ(r.err, "nucleus: config.json: linux.intelRdt: not supported by nucleus\n");
  EXPECT_EQ(nucleus({"list", "--quiet"}).out, "");
  write_config({"/no/such/binary"}, [](json& c) { c["linux"].erase("intelRdt"); });
  Result missing = create("missing");
  if (GetParam() == "native") {
    // Found missing at create, as runc and crun do: 127, and no container.
    EXPECT_EQ(missing.status, 127) << missing.err;
    EXPECT_EQ(missing.err, "nucleus: exec /no/such/binary: No such file or directory\n");
  } else {
    // runsc looks the command up only at start.
    ASSERT_EQ(missing.status, 0) << missing.err;
    Result start = nucleus({"start", "missing"});
    EXPECT_EQ(start.status, 125);
    EXPECT_NE(start.err.find("/no/such/binary"), std::string::npos) << start.err;
    EXPECT_EQ(nucleus({"delete", "--force", "missing"}).status, 0);
  }
  EXPECT_EQ(nucleus({"list", "--quiet"}).out, "");
}

INSTANTIATE_TEST_SUITE_P(BothBackends, Oci, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

// The native container's view, as an OCI client configures it.
class OciNative : public Oci {};

TEST_P(OciNative, ConfigPolicyHoldsInside) {
  write_config({"/bin/sh", "-c", "sleep 60"}, [](json& c) {
    c["linux"]["resources"]["pids"]["limit"] = 42;
    c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
    c["process"]["oomScoreAdj"] = 300;
  });
  ASSERT_EQ(create("policy").status, 0);
  ASSERT_EQ(nucleus({"start", "policy"}).status, 0);
  ASSERT_TRUE(wait_status("policy", "running"));
  Result r = nucleus({"exec", "policy", "/bin/sh", "-c",
                      "cat /proc/sys/net/ipv4/ip_forward /sys/fs/cgroup/pids/pids.max /proc/1/oom_score_adj; "
                      "grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status"});
  // As runc's exec: the process starts from the container's own (its capabilities, its
  // no_new_privs), not from nothing.
  EXPECT_EQ(r.out, "1\n42\n300\nCapEff:\t0000000020000420\nNoNewPrivs:\t1\n") << r.err;
  Result ps = nucleus({"ps", "--format", "json", "policy"});
  EXPECT_EQ(json::parse(ps.out).size(), 1u) << ps.out;  // sh; the exec is gone
  EXPECT_EQ(nucleus({"update", "--pids-limit", "50", "policy"}).status, 0);
  EXPECT_EQ(nucleus({"exec", "policy", "/bin/cat", "/sys/fs/cgroup/pids/pids.max"}).out, "50\n");
  EXPECT_EQ(nucleus({"delete", "--force", "policy"}).status, 0);
}

INSTANTIATE_TEST_SUITE_P(Native, OciNative, ::testing::Values("native"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace nucleus::test
