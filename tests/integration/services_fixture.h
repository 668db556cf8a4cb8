#pragma once

// The fixture of the services tests (services_test.cc, services_ready_test.cc): a state root
// of each test's own, removed at the end, and the verbs' output read as JSON.
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
#include "tests/support/eventually.h"
#include "tests/support/slurp.h"

namespace nucleus::test {

using namespace std::chrono_literals;
using json = nlohmann::json;

inline bool wait_for(const std::function<bool()>& condition, std::chrono::seconds limit = 60s) {
  return eventually(condition, static_cast<int>(limit.count()));
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
      // A killed monitor's keeper finishes the cleanup on its own, and a run's keeper may
      // append its events after the removal above: the root goes again once they are done.
      wait_for([&] { return take_leak_snapshot() == baseline(); }, 30s);
      std::filesystem::remove_all(root_);
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

}  // namespace nucleus::test
