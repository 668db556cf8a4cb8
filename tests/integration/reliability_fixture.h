#pragma once

// The fixture of the reliability tests (issue 13): reliability_io_test.cc (what a start and
// its caller's stdio, signals and layer get) and reliability_state_test.cc (what nucleus
// reads back or is given: configs, hooks, records, caches). Each test drives the real CLI on
// both backends where the item applies; the native backend, which was right before, is the
// control of every gVisor case.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/sys/scoped.h"
#include "tests/integration/harness.h"
#include "tests/integration/leak_check.h"
#include "tests/support/slurp.h"

extern char** environ;

namespace nucleus::test {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline const std::vector<std::string> kNative = {"--isolation", "standard"};
inline const std::vector<std::string> kGvisor = {"--isolation", "untrusted"};

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// nucleus with the given fds as its 0, 1 and 2 (a file the test opened, a pipe, ...), as a
// shell's redirection would give them; returns the exit status the shell would see.
inline int run_with_stdio(const std::vector<std::string>& args, int in, int out, int err,
                   const std::vector<std::string>& env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  std::vector<std::string> words = {kNucleus};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.push_back(*e);
  environment.insert(environment.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, kNucleus.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

inline std::vector<std::string> run_args(const std::vector<std::string>& backend, std::vector<std::string> rest) {
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), backend.begin(), backend.end());
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

inline std::string backend_name(const ::testing::TestParamInfo<std::vector<std::string>>& param) {
  return param.param == kGvisor ? "gvisor" : "native";
}

class Reliability : public ContainerTest, public ::testing::WithParamInterface<std::vector<std::string>> {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (!IsSkipped()) dir_.emplace("/tmp", "nucleus-it-");
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::optional<TempDir> dir_;
};

// An OCI bundle under a private --root, for either backend.
class OciBundle {
 public:
  explicit OciBundle(const std::string& dir) : dir_(dir), root_(dir + "/state"), bundle_(dir + "/bundle") {
    ::mkdir(bundle_.c_str(), 0755);
    run_nucleus({"spec", "--bundle", bundle_});
    pristine_ = json::parse(slurp(bundle_ + "/config.json"));
  }
  ~OciBundle() {
    Result list = nucleus({"list", "--quiet"});
    std::istringstream ids(list.out);
    for (std::string id; std::getline(ids, id);) nucleus({"delete", "--force", id});
  }
  // `nucleus spec`'s config with the busybox rootfs, the backend, and `change`.
  void write(const std::string& backend, const std::function<void(json&)>& change) {
    json c = pristine_;
    c["root"]["path"] = kRootfs;
    c["process"]["terminal"] = false;
    c["process"]["args"] = {"/bin/sleep", "100"};
    c["annotations"] = {{"run.nucleus.backend", backend}};
    if (change) change(c);
    std::ofstream(bundle_ + "/config.json") << c.dump(2);
  }
  Result nucleus(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root_});
    return run_nucleus(args);
  }
  Result create(const std::string& id) const { return nucleus({"create", "--bundle", bundle_, id}); }
  const std::string& root() const { return root_; }

 private:
  std::string dir_, root_, bundle_;
  json pristine_;
};

class ConfigChecks : public Reliability {};


}  // namespace nucleus::test
