#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "daemon/client/api_client.h"
#include "tests/integration/harness.h"

extern char** environ;

// A nucleusd of the test's own: its state root, socket and templates in a private
// directory, the busybox test rootfs; stopped (and its sandboxes checked gone) at the end.
namespace nucleus::test {

inline const std::string kNucleusd = NUCLEUSD_BINARY;

class Nucleusd {
 public:
  Nucleusd(const std::string& templates_yaml, std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    dir_ = std::filesystem::temp_directory_path() / ("nucleusd-test-" + std::to_string(::getpid()) + "-" + std::to_string(++serial()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "templates.yaml") << templates_yaml;
    start();
  }
  ~Nucleusd() {
    // A test that failed half-way leaves no sandbox behind: what is still listed is deleted.
    if (pid_ > 0) {
      try {
        daemon::ApiResponse list = client().call("GET", "/v1/sandboxes");
        const nlohmann::json all = nlohmann::json::parse(list.body);
        for (const auto& s : all["sandboxes"])
          client().call("DELETE", "/v1/sandboxes/" + s["id"].get<std::string>());
      } catch (const std::exception&) {
      }
    }
    stop();
    // A stopped sandbox's monitor may still append its last event to the state root's
    // history after the daemon left: removed until the directory stays gone.
    std::error_code ec;
    for (int quiet = 0, i = 0; quiet < 3 && i < 30; ++i) {
      quiet = std::filesystem::exists(dir_, ec) ? 0 : quiet + 1;
      std::filesystem::remove_all(dir_, ec);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void start() {
    std::vector<std::string> args = {kNucleusd, "--socket", socket(), "--root", root(), "-f", (dir_ / "templates.yaml").string(),
                                     "--nucleus", kNucleus, "--log-level", "warning"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir_ / "nucleusd.log").string();
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (::posix_spawn(&pid_, kNucleusd.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 3000 && pid_ > 0; ++i) {
      try {
        if (client().call("GET", "/v1/health").status == 200) return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // SIGTERM (pooled sandboxes go, claimed ones stay) or SIGKILL; reaped.
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }

  std::string socket() const { return (dir_ / "d.sock").string(); }
  std::string root() const { return (dir_ / "state").string(); }
  std::string dir() const { return dir_.string(); }
  std::string log() const {
    std::ifstream in(dir_ / "nucleusd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  daemon::ApiClient client() const { return daemon::ApiClient(socket()); }

  // The ids of the container records under its state root.
  std::vector<std::string> records() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root(), ec))
      if (e.path().filename().string()[0] != '.') out.push_back(e.path().filename().string());
    return out;
  }

 private:
  static int& serial() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

}  // namespace nucleus::test
