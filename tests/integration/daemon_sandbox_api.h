#pragma once

#include <filesystem>

// What the tests of nucleusd's sandboxes share (daemon_test.cc, daemon_agent_test.cc): a
// template per backend, exec and create through the API, the sandbox's pids, and the
// fixture run on both backends.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/daemon_fixture.h"
#include "tests/support/eventually.h"

namespace nucleus::test::sandbox_api {

using nlohmann::json;

inline std::string templates_for(const std::string& backend, unsigned pool = 0) {
  return "templates:\n  default:\n    backend: " + backend + "\n    rootfs: " + kRootfs +
         "\n    pool: " + std::to_string(pool) + "\n    max_sandboxes: 60\n";
}

struct ExecResult {
  int http = 0;
  std::vector<std::pair<std::string, std::string>> frames;  // stream, data
  std::string out, err;
  int exit_code = -1;
  bool timed_out = false;
  bool agent = false;  // served by the sandbox's nucleus-agent
  std::string body;
};

inline ExecResult exec(const Nucleusd& d, const std::string& id, const json& body) {
  ExecResult r;
  std::string pending;
  r.http = d.client().stream("POST", "/v1/sandboxes/" + id + "/exec", body.dump(), [&](std::string_view data) {
    r.body.append(data);
    pending.append(data);
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      json j = json::parse(pending.substr(0, nl));
      if (j.contains("exit_code")) {
        r.exit_code = j["exit_code"];
        r.timed_out = j["timed_out"];
        r.agent = j.value("agent", false);
        continue;
      }
      r.frames.emplace_back(j["stream"], j.value("data", ""));
      (j["stream"] == "stdout" ? r.out : r.err) += j.value("data", "");
    }
  });
  return r;
}

inline std::string create(const Nucleusd& d, const json& body = json::object()) {
  daemon::ApiResponse r = d.client().call("POST", "/v1/sandboxes", body.dump());
  EXPECT_EQ(r.status, 201) << r.body << d.log();
  return r.status == 201 ? json::parse(r.body).value("id", "") : "";
}

inline int remove(const Nucleusd& d, const std::string& id) { return d.client().call("DELETE", "/v1/sandboxes/" + id).status; }

inline std::string error_code(const daemon::ApiResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("code", "") : r.body;
}

// The pids of a sandbox's container (its cgroup, through `nucleus ps`).
inline std::vector<pid_t> sandbox_pids(const Nucleusd& d, const std::string& id) {
  Result r = run_nucleus({"--root", d.root(), "ps", "--format", "json", id});
  std::vector<pid_t> pids;
  if (r.status == 0) pids = json::parse(r.out).get<std::vector<pid_t>>();
  return pids;
}

inline std::string cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string s(std::istreambuf_iterator<char>(in), {});
  for (char& c : s) if (c == '\0') c = ' ';
  return s;
}

// A metric's first sample in /metrics (any labels), or -1 when it is absent.
inline long metric_value(const Nucleusd& d, const std::string& name) {
  std::string m = d.client().call("GET", "/metrics").body;
  size_t at = m.find("\n" + name + " ");
  if (at == std::string::npos) at = m.find("\n" + name + "{");
  if (at == std::string::npos) return -1L;
  at = m.find(' ', at + 1);
  return std::stol(m.substr(at + 1));
}


class DaemonTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "nucleusd runs as root";
  }
  std::string backend() const { return GetParam(); }
  // Every sandbox deleted leaves no container record behind, nor a file of the daemon's
  // (ID.json and the twin it is rewritten through, sandbox/manager.cc persist).
  void expect_no_records(const Nucleusd& d) {
    EXPECT_TRUE(eventually([&] { return d.records().empty(); }, 10)) << ::testing::PrintToString(d.records());
    const std::filesystem::path files = d.root() + "/.nucleusd/sandboxes";
    auto left = [&] {
      std::vector<std::string> names;
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(files, ec)) names.push_back(e.path().filename());
      return names;
    };
    EXPECT_TRUE(eventually([&] { return left().empty(); }, 10)) << ::testing::PrintToString(left());
  }
};

}  // namespace nucleus::test::sandbox_api
