#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/container_spec.h"
#include "config/service_spec.h"
#include "core/sys/unique_fd.h"

// A service's monitor (conmon's part, without a daemon): a process of its own (setsid, no
// terminal, stdio to the log) that holds the container as `run` does in the foreground
// (Backend create + start + wait + remove, the session's wait forwarding signals), and
// around each run: the log (core/service/log_writer.h), the health checks
// (core/service/health.h, run through `nucleus exec`), the restart policy with its back-off
// (core/service/restart_policy.h), the service's state and the events. Killed, it leaves
// nothing running: its keeper deletes the container, and `ps` sees its lock free.
namespace nucleus::frontend {

struct SecretContent {
  std::string name;
  std::string bytes;
};

struct MonitorContext {
  std::string root;
  std::string id;
  std::string dir;  // the service's record
  ContainerSpec spec;
  ServiceSpec service;
  std::vector<SecretContent> secrets;  // read once by the caller; cleared once placed
  UniqueFd report;  // to the caller: one line, "OK" or "ERR <code> <message>"
  UniqueFd lock;    // the monitor lock, held for the monitor's life
  std::vector<std::string> cgroup;  // the monitor's own cgroup (empty: it stayed in the caller's)
};

// Runs in the forked monitor; never returns.
[[noreturn]] void monitor_service(MonitorContext context);

}  // namespace nucleus::frontend
