#include "core/service/service_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/cgroup/process_cgroup.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::service {

using json = nlohmann::json;

namespace {

json health_log_to_json(const std::vector<HealthResult>& log) {
  json out = json::array();
  for (const HealthResult& r : log) {
    out.push_back({{"start", r.start}, {"end", r.end}, {"exit_code", r.exit_code}, {"output", r.output}});
  }
  return out;
}

std::vector<HealthResult> health_log_from_json(const json& j) {
  std::vector<HealthResult> out;
  if (!j.is_array()) return out;
  for (const json& r : j) {
    out.push_back({r.value("start", ""), r.value("end", ""), r.value("exit_code", 0), r.value("output", "")});
  }
  return out;
}

}  // namespace

std::string state_to_json(const ServiceState& s) {
  json j = {{"status", s.status},       {"reason", s.reason},          {"restart_count", s.restart_count},
            {"health", s.health},       {"failing_streak", s.failing_streak}, {"monitor_pid", s.monitor_pid},
            {"pid", s.pid},             {"created", s.created},        {"started_at", s.started_at},
            {"finished_at", s.finished_at}};
  j["exit_code"] = s.exit_code ? json(*s.exit_code) : json(nullptr);
  j["monitor_cgroup"] = s.monitor_cgroup;
  j["health_log"] = health_log_to_json(s.health_log);
  // A check's output is whatever it printed: bytes that are not UTF-8 become U+FFFD.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

ServiceState state_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    ServiceState s;
    s.status = j.at("status").get<std::string>();
    s.reason = j.value("reason", "");
    s.restart_count = j.value("restart_count", 0u);
    s.health = j.value("health", "none");
    s.failing_streak = j.value("failing_streak", 0u);
    s.monitor_pid = j.value("monitor_pid", 0);
    s.pid = j.value("pid", 0);
    s.created = j.value("created", "");
    s.started_at = j.value("started_at", "");
    s.finished_at = j.value("finished_at", "");
    if (j.contains("exit_code") && !j["exit_code"].is_null()) s.exit_code = j["exit_code"].get<int>();
    s.monitor_cgroup = j.value("monitor_cgroup", std::vector<std::string>{});
    if (j.contains("health_log")) s.health_log = health_log_from_json(j["health_log"]);
    return s;
  } catch (const json::exception& e) {
    throw Error("service state", std::string("corrupted state.json: ") + e.what());
  }
}

std::string services_root(const std::string& root) { return root + "/.services"; }
std::string service_dir(const std::string& root, const std::string& id) { return services_root(root) + "/" + id; }

std::vector<std::string> list_services(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(services_root(root), ec)) {
    std::string name = e.path().filename().string();
    if (!name.empty() && name[0] != '.') out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string claim_service_dir(const std::string& root, const std::string& id) {
  if (::mkdir(root.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create the state directory", root);
  std::string parent = services_root(root);
  // 0711: a container's user namespace reaches its own secrets' directory by name.
  if (::mkdir(parent.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create the state directory", parent);
  std::string dir = service_dir(root, id);
  if (::mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST) throw Error("--name", "'" + id + "' is already in use by a service (nucleus rm " + id + ")");
    throw_errno("create the service record", dir);
  }
  return dir;
}

UniqueFd take_monitor_lock(const std::string& dir) {
  UniqueFd fd(::open((dir + "/monitor").c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) throw_errno("take the service's monitor lock", dir);
  return fd;
}

bool monitor_alive(const std::string& dir) {
  UniqueFd fd(::open((dir + "/monitor").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  return ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

void write_state(const std::string& dir, const ServiceState& state) {
  sys::replace_file(dir + "/state.json", state_to_json(state), "write the service state");
}

ServiceState read_state(const std::string& dir) {
  ServiceState s = state_from_json(sys::read_file(dir + "/state.json", 1u << 20, "read the service state"));
  bool live = s.status == "starting" || s.status == "running" || s.status == "restarting";
  if (live && !monitor_alive(dir)) {
    s.status = "exited";
    s.reason = "monitor died";
    s.pid = 0;
    if (s.health != "none") s.health = "unhealthy";
  }
  return s;
}

void remove_dead_monitor_cgroup(const std::string& dir, std::chrono::milliseconds patience) noexcept {
  try {
    if (monitor_alive(dir)) return;
    ServiceState s = state_from_json(sys::read_file(dir + "/state.json", 1u << 20, "read the service state"));
    std::vector<std::string> dirs;
    for (const std::string& cgroup : s.monitor_cgroup) {
      // Only what a monitor makes: a nucleus-<pid>-monitor directory below /sys/fs/cgroup.
      if (cgroup.starts_with("/sys/fs/cgroup/") && is_monitor_cgroup(cgroup)) dirs.push_back(cgroup);
    }
    (void)remove_own_cgroup(dirs, patience);
  } catch (const std::exception&) {
    // No state, no cgroup to look for.
  }
}

void remove_service_dir(const std::string& root, const std::string& id) noexcept {
  std::error_code ignored;
  std::filesystem::remove_all(service_dir(root, id), ignored);
  ::rmdir(services_root(root).c_str());  // only when empty
}

}  // namespace nucleus::service
