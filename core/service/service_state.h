#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/service/health.h"
#include "core/sys/unique_fd.h"

// A detached container (a service) outlives each run of its container: its record is
// <root>/.services/<id>/, made by `run -d` and removed by `rm`, holding
//  - `service.json`: what the user asked (the monitor's options, never a secret's content);
//  - `spec.json`: the resolved container spec, for `restart`;
//  - `state.json` (ServiceState): written only by the monitor;
//  - `monitor`: a lock file the monitor holds an flock of for its whole life, so a monitor
//    that died (kill -9) is seen at once, and the service shown as exited with that reason;
//  - `stop`: present once `nucleus stop` asked (the monitor then restarts nothing);
//  - `container.log` and its rotated files; `secrets/`, an empty directory on the host
//    (the tmpfs over it exists only in the monitor's own mount namespace).
// Each run of the container has the ordinary container record <root>/<id>, gone when the
// run ends, so the OCI verbs (exec, kill, ps ID) reach a running service as any container.
namespace nucleus::service {

struct ServiceState {
  std::string status = "created";  // created | starting | running | restarting | exited
  std::optional<int> exit_code;
  std::string reason;              // why it ended: "exited", "signal N", "oom", "monitor died", ...
  uint32_t restart_count = 0;
  std::string health = "none";     // none | starting | healthy | unhealthy
  uint32_t failing_streak = 0;
  std::vector<HealthResult> health_log;  // the last checks, oldest first (health.h)
  pid_t monitor_pid = 0;
  pid_t pid = 0;                   // the container's init, as the host sees it (0: not running)
  std::string created, started_at, finished_at;
  // The monitor's own cgroup (core/cgroup/process_cgroup.h), one directory per hierarchy:
  // whoever finds the monitor dead (the cleanup, `rm`) removes what is left of it.
  std::vector<std::string> monitor_cgroup;
};

std::string state_to_json(const ServiceState& state);
ServiceState state_from_json(const std::string& text);  // throws Error

std::string services_root(const std::string& root);
std::string service_dir(const std::string& root, const std::string& id);
// The ids of every service under root, sorted.
std::vector<std::string> list_services(const std::string& root);

// Makes <root>/.services/<id> (mkdir: of two claims one wins); throws Error naming --name.
std::string claim_service_dir(const std::string& root, const std::string& id);
// The monitor's lock, taken (the file made if absent); throws Error.
UniqueFd take_monitor_lock(const std::string& dir);
// Whether a monitor holds the service's lock.
bool monitor_alive(const std::string& dir);

void write_state(const std::string& dir, const ServiceState& state);  // atomic
// The monitor's state; a service whose monitor died while it said it was running is
// reported exited, reason "monitor died". Throws Error when absent or corrupted.
ServiceState read_state(const std::string& dir);

// What a monitor killed (-9) left of its cgroup, removed once empty (given `patience` for
// its last process to go); nothing while a monitor holds the service's lock.
void remove_dead_monitor_cgroup(const std::string& dir, std::chrono::milliseconds patience) noexcept;

// Removes the whole directory (and .services when it is left empty).
void remove_service_dir(const std::string& root, const std::string& id) noexcept;

}  // namespace nucleus::service
