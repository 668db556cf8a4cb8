// The fixture of the prepared-namespace tests (network_prepared_test.cc,
// network_recycle_test.cc): the real CLI in the lab's namespaces (network_lab.h), native
// bridge containers, and what the lab's leases say of them. TearDown checks that nothing is
// left, the standbys' own teardown included (leftovers() ends them first).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/network_lab.h"
#include "tests/integration/network_lab_fixture.h"

namespace nucleus::test {
namespace {

using namespace std::chrono_literals;

class NetworkPrepared : public WithNetworkLab<> {
 protected:
  void TearDown() override {
    WithNetworkLab::TearDown();
    ::unsetenv("NUCLEUS_NETWORK_POOL");
  }

  std::vector<std::string> nucleus(const std::vector<std::string>& args) const {
    std::vector<std::string> a = {kNucleus, "--root", lab_->nucleus_root()};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  std::vector<std::string> run_args(const std::string& name, const std::vector<std::string>& command,
                                    const std::vector<std::string>& flags = {}) const {
    std::vector<std::string> a = nucleus({"run", "--backend", "native", "--network", "bridge", "--dns", Upstream::kDns});
    a.insert(a.end(), root_flags_.begin(), root_flags_.end());
    a.insert(a.end(), {"--name", name});
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back("--");
    a.insert(a.end(), command.begin(), command.end());
    return a;
  }
  CommandResult in_host(const std::vector<std::string>& args) { return lab_->run_in(lab_->host(), args); }

  // A container left running in the background, once its network is attached.
  void start(const std::string& name, const std::vector<std::string>& flags = {},
             const std::vector<std::string>& command = {"/bin/sleep", "600"}) {
    background_.push_back(lab_->start_in_host(run_args(name, command, flags)));
    for (int i = 0; i < 300 && lease_of(name).empty(); ++i) std::this_thread::sleep_for(100ms);
    for (int i = 0; i < 300 && in_host(nucleus({"exec", name, "/bin/true"})).status != 0; ++i) std::this_thread::sleep_for(100ms);
  }

  // The lease a container holds (JSON), or "".
  std::string lease_of(const std::string& id) {
    for (const std::string& lease : lab_->leases()) {
      if (lease.find("\"id\":\"" + id + "\"") != std::string::npos) return lease;
    }
    return "";
  }
  // The standby a lease was prepared by ("standby-<pid>-<start>"), or "" when it was made
  // for the container itself.
  std::string prepared_by(const std::string& id) {
    std::string lease = lease_of(id);
    size_t at = lease.find("\"origin\":\"standby-");
    if (at == std::string::npos) return "";
    at += 10;
    return lease.substr(at, lease.find('"', at) - at);
  }

  // A first bridge start tells the server what to prepare; then `n` standbys are ready.
  void prepare_standbys(size_t n) {
    CommandResult first = in_host(run_args("warm-up", {"/bin/true"}));
    ASSERT_EQ(first.status, 0) << first.output;
    for (auto end = std::chrono::steady_clock::now() + 60s; lab_->standbys() < n && std::chrono::steady_clock::now() < end;) {
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_GE(lab_->standbys(), n) << "the resident netd prepared no standby";
  }

  // A running container's init, as `state` says; "" when none.
  std::string pid_of(const std::string& id) {
    CommandResult state = in_host(nucleus({"state", id}));
    size_t at = state.output.find("\"pid\":");
    if (at == std::string::npos) return "";
    return std::to_string(std::atoi(state.output.c_str() + at + 6));
  }
  std::string netns_of(const std::string& id) {
    std::string pid = pid_of(id);
    if (pid.empty()) return "";
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/" + pid + "/ns/net", ec).string();
  }

  // The host's view with the driver bound in; or an image's root holding it (--rootfs).
  std::vector<std::string> root_flags_ = {"-v", NetworkLab::driver() + ":" + kDriverInside + ":ro"};
};

}  // namespace
}  // namespace nucleus::test
