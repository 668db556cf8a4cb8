// What the service verbs share: stopping a service through its monitor, and its inspect.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/spec_json.h"
#include "core/service/events.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/service_launch.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

using Clock = std::chrono::steady_clock;

// Polls until the monitor's lock is free; false at the deadline.
bool wait_monitor_gone(const std::string& dir, std::chrono::milliseconds limit) {
  for (auto end = Clock::now() + limit;; std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
    if (!service::monitor_alive(dir)) return true;
    if (Clock::now() >= end) return false;
  }
}

// The monitor's pid once it has said it (a monitor just forked has not yet).
pid_t monitor_pid(const std::string& dir) {
  for (auto end = Clock::now() + std::chrono::seconds(10); Clock::now() < end;
       std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
    pid_t pid = service::read_state(dir).monitor_pid;
    if (pid > 0) return pid;
  }
  return 0;
}

void kill_container_now(const std::string& root, const std::string& id) {
  try {
    LockedContainer c(root, id);
    backend_of(c.record(), c.path())->kill(c, SIGKILL, /*all=*/true);
  } catch (const Error&) {
    // Between two runs, or already gone: the monitor's SIGTERM ends it.
  }
}

}  // namespace

std::string existing_service(const std::string& root, const std::string& id) {
  check_id(id);
  std::string dir = service::service_dir(root, id);
  struct stat st;
  if (::stat((dir + "/state.json").c_str(), &st) != 0) throw Error(id, "no such service");
  return dir;
}

bool stop_service(const std::string& root, const std::string& id, int seconds) {
  std::string dir = existing_service(root, id);
  if (!service::monitor_alive(dir)) return false;
  UniqueFd marker(::open((dir + "/stop").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!marker) throw_errno("stop " + id, dir + "/stop");
  pid_t pid = monitor_pid(dir);
  if (pid > 0 && seconds > 0) ::kill(pid, SIGTERM);
  if (seconds <= 0 || !wait_monitor_gone(dir, std::chrono::seconds(seconds))) {
    // Again until it ends: a signal can miss a container still being made (runsc kills
    // only a container it has started), and a monitor between two runs has none.
    for (int attempt = 0; attempt < 60; ++attempt) {
      kill_container_now(root, id);
      if (pid > 0) ::kill(pid, SIGTERM);
      if (wait_monitor_gone(dir, std::chrono::milliseconds(500))) break;
    }
    // The last resort: the monitor's death takes its run along (its keeper cleans up).
    if (pid > 0 && service::monitor_alive(dir)) ::kill(pid, SIGKILL);
    if (!wait_monitor_gone(dir, std::chrono::seconds(30))) throw Error("stop " + id, "its monitor does not end");
  }
  service::record_event(root, id, "stop");
  return true;
}

void add_timed_service_verb(CLI::App& app, Globals& g, Action& action, const char* name, const char* about,
                            TimedServiceVerb each) {
  struct Flags {
    int seconds = 10;
    std::vector<std::string> ids;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(name, about);
  cmd->add_option("-t,--time", f->seconds, "Seconds to wait before SIGKILL (default 10)")->check(CLI::NonNegativeNumber);
  cmd->add_option("ids", f->ids, "Service names or ids")->required();
  cmd->callback([f, &g, &action, each] {
    action = [f, &g, each] {
      for (const std::string& id : f->ids) {
        each(g.root, id, f->seconds);
        std::cout << id << "\n";
      }
      return 0;
    };
  });
}

std::string inspect_service_json(const std::string& root, const std::string& id) {
  using json = nlohmann::json;
  std::string dir = existing_service(root, id);
  service::ServiceState s = service::read_state(dir);
  ServiceSpec service = service_spec_from_json(sys::read_file(dir + "/service.json", 1u << 20, "read the service record"));
  ContainerSpec spec = read_spec_file(dir);
  json j = {{"id", id},
            {"name", id},
            {"status", s.status},
            {"reason", s.reason},
            {"exit_code", s.exit_code ? json(*s.exit_code) : json(nullptr)},
            {"restart_count", s.restart_count},
            {"restart_policy", service::to_string(service.restart)},
            {"health", s.health},
            {"failing_streak", s.failing_streak},
            {"pid", s.pid},
            {"monitor_pid", s.status == "exited" ? 0 : s.monitor_pid},
            {"created", s.created},
            {"started_at", s.started_at},
            {"finished_at", s.finished_at},
            {"backend", spec.backend == BackendKind::kGvisor ? "gvisor" : "native"},
            {"command", spec.process.args},
            {"log_path", dir + "/container.log"}};
  // The last checks, as docker's State.Health.Log (their output as they printed it).
  json log = json::array();
  for (const service::HealthResult& r : s.health_log) {
    log.push_back({{"start", r.start}, {"end", r.end}, {"exit_code", r.exit_code}, {"output", r.output}});
  }
  j["health_log"] = log;
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace nucleus::frontend
