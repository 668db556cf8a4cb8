#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/service_spec.h"
#include "core/service/health.h"
#include "core/service/log_writer.h"
#include "core/service/service_state.h"
#include "core/sys/unique_fd.h"

// The monitor's parts that run beside the container's wait (frontend/service_monitor.cc):
// the service's state, the log pump, the health checker, and how the monitor runs nucleus's
// own verbs (exec for a check, kill for --health-on-failure).
namespace nucleus::frontend {

// The service's state.json, written by the monitor's threads in turn.
class StateStore {
 public:
  explicit StateStore(std::string dir);
  void update(const std::function<void(service::ServiceState&)>& change);
  service::ServiceState get();

 private:
  std::string dir_;
  std::mutex mutex_;
  service::ServiceState state_;
};

// Runs `nucleus ARGS...` (this binary) with stdio on /dev/null and signals as usual; returns
// its exit code, or -1 when it ran past `timeout` (then killed) or `cancel_fd` became
// readable. With `output`: its stdout and stderr instead, the first `output_limit` bytes
// kept there (the rest read and dropped, so it never blocks on a full pipe).
int run_self(const std::vector<std::string>& args, std::chrono::milliseconds timeout, int cancel_fd = -1,
             std::string* output = nullptr, size_t output_limit = 0);

// READY=1 with MAINPID (this process) to the caller's validated NOTIFY_SOCKET, if set;
// `extra`: more lines the workload said (STATUS=...), passed on with it.
void notify_ready(const std::string& extra = {});

// --sdnotify container: the socket a run's notify relay (the --sd-notify proxy) forwards the
// workload's messages to, an abstract one of the monitor's; READY=1 there is the service's
// readiness.
class ReadinessSocket {
 public:
  explicit ReadinessSocket(const std::string& id);
  int fd() const { return fd_.get(); }
  const std::string& address() const { return address_; }  // "@name", for NOTIFY_SOCKET
  // Reads one message; true when it says READY=1 (then *rest holds its other lines).
  bool ready(std::string* rest);

 private:
  std::string address_;
  UniqueFd fd_;
};

// The container's stdout and stderr (pipes it inherits as fds 1 and 2) into the log.
class LogPump {
 public:
  LogPump(const std::string& path, service::LogLimits limits);
  ~LogPump();
  int stdout_fd() const { return out_write_.get(); }
  int stderr_fd() const { return err_write_.get(); }
  // The write ends have been duplicated where they go: the pump starts reading.
  void start();
  // Drains what is there, then stops.
  void stop();

 private:
  void pump();
  service::LogWriter writer_;
  UniqueFd out_read_, out_write_, err_read_, err_write_, stop_;
  std::thread thread_;
};

// Runs the health check every interval while it exists (one container run); reports every
// status change to the state, the events, and on_change.
class HealthChecker {
 public:
  HealthChecker(std::string root, std::string id, HealthSpec spec, StateStore& store,
                std::function<void(service::HealthStatus)> on_change);
  ~HealthChecker();

 private:
  void loop();
  std::string root_, id_;
  HealthSpec spec_;
  StateStore& store_;
  std::function<void(service::HealthStatus)> on_change_;
  UniqueFd stop_;
  std::thread thread_;
};

}  // namespace nucleus::frontend
