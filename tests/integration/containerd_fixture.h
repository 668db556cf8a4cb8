#pragma once

// A private containerd 1.6 (Debian 12) for a test: its own socket, root and state in a temp
// dir; `ctr` drives it, and its runc shim (io.containerd.runc.v2) runs nucleus as its runc
// binary. Used by containerd_test.cc and kubernetes_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "core/sys/scoped.h"
#include "tests/integration/leak_check.h"

namespace nucleus::test {

namespace bp = boost::process;
using namespace std::chrono_literals;

struct Output {
  int status = -1;
  std::string text;  // stdout and stderr
};

inline Output shell(const std::string& command) {
  Output out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.text.append(buf.data(), n);
  int status = ::pclose(p);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

class Containerd : public ContainerTest {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (IsSkipped()) return;
    if (::access("/usr/bin/containerd", X_OK) != 0 || ::access("/usr/bin/ctr", X_OK) != 0) {
      GTEST_SKIP() << "containerd is not installed (scripts/setup installs it)";
    }
    had_run_containerd_ = ::access("/run/containerd", F_OK) == 0;
    dir_.emplace("/tmp", "nucleus-it-");
    socket_ = dir_->path() + "/containerd.sock";
    std::ofstream(dir_->path() + "/config.toml") << "version = 2\nroot = \"" << dir_->path() << "/root\"\nstate = \""
                                                 << dir_->path() << "/state\"\n[grpc]\n  address = \"" << socket_
                                                 << "\"\n";
    daemon_ = bp::child("/usr/bin/containerd", "--config", dir_->path() + "/config.toml",
                        bp::std_out > dir_->path() + "/log", bp::std_err > dir_->path() + "/log", bp::std_in < bp::null);
    for (int i = 0; i < 200 && ::access(socket_.c_str(), F_OK) != 0; ++i) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(::access(socket_.c_str(), F_OK), 0) << "containerd did not start";
  }
  void TearDown() override {
    if (daemon_.valid() && daemon_.running()) {
      ::kill(daemon_.id(), SIGTERM);  // our own child
      for (int i = 0; i < 100 && daemon_.running(); ++i) std::this_thread::sleep_for(50ms);
      if (daemon_.running()) daemon_.terminate();
      daemon_.wait();
    }
    // The shim's runtime root (nucleus --root) and containerd's default fifo and shim
    // socket directories: ours when /run/containerd did not exist before.
    std::error_code ec;
    std::filesystem::remove_all("/run/containerd/runc/nucleus-it", ec);
    if (!had_run_containerd_) std::filesystem::remove_all("/run/containerd", ec);
    // ctr puts each container's cgroup below /<namespace> in every hierarchy (runc and
    // nucleus remove the container's own, not the parent the client chose): ours to remove.
    for (const std::string& parent : nucleus_cgroups()) {
      if (parent.substr(parent.find_last_of('/') + 1) != "nucleus-it") continue;
      std::vector<std::string> dirs;
      for (auto it = std::filesystem::recursive_directory_iterator(parent, ec); !ec && it != decltype(it)(); it.increment(ec)) {
        if (it->is_directory(ec)) dirs.push_back(it->path().string());
      }
      std::sort(dirs.rbegin(), dirs.rend());  // children first
      for (const std::string& d : dirs) ::rmdir(d.c_str());
      ::rmdir(parent.c_str());
    }
    dir_.reset();
    ContainerTest::TearDown();
  }
  Output ctr(const std::string& args) const {
    return shell("/usr/bin/ctr -a " + socket_ + " -n nucleus-it " + args);
  }
  // The pid `ctr task ls` shows for a task (0 when none).
  pid_t task_pid(const std::string& id) const {
    std::istringstream lines(ctr("task ls").text);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string task, pid;
      fields >> task >> pid;
      if (task == id) return static_cast<pid_t>(std::atoi(pid.c_str()));
    }
    return 0;
  }
  std::string run(const std::string& runtime, const std::string& id, const std::string& script) const {
    return "run --rm --runc-binary " + std::string(NUCLEUS_BINARY) + runtime + " --rootfs " + kRootfs + " " + id +
           " /bin/sh -c " + shell_quote(script);
  }

  std::optional<TempDir> dir_;
  std::string socket_;
  bp::child daemon_;
  bool had_run_containerd_ = true;
};

}  // namespace nucleus::test
