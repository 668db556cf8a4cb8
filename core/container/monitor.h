#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include <signal.h>

#include "core/container/child_report.h"
#include "core/container/notify_socket.h"
#include "core/sys/scoped.h"

namespace nucleus {

// Blocks the forwarded signals (core/init/signals.h) for its lifetime and reads them from a
// signalfd: a child started meanwhile inherits the mask, so its PID 1 misses none either.
class ForwardedSignals {
 public:
  ForwardedSignals();
  ~ForwardedSignals();
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;
  int fd() const { return fd_.get(); }

 private:
  sigset_t old_;
  UniqueFd fd_;
};

class StdioRelay;

struct MonitorOptions {
  // How a signal reaches the workload: native signals its PID 1 through the pidfd, gVisor
  // asks the sandbox (runsc's control socket). Null: signal `child` directly. False: it cannot reach it yet (a
  // sandbox still starting): it is kept, and offered again, in order, every
  // retry_interval_ms until it is taken or the container has ended (issue 13: a signal
  // during a gVisor start was lost).
  std::function<bool(int sig)> forward;
  int retry_interval_ms = 20;
  // Stdio nucleus copies for the container (stdio_relay.h), or null.
  StdioRelay* relay = nullptr;
  int sync_fd = -1;    // the child's reports, until EOF (-1: none)
  // Offered each message on sync_fd first: true if it took it (the native backend's "P",
  // backends/native/handshake.h); otherwise the message is read as a report.
  std::function<bool()> take_message;
  int signal_fd = -1;  // forwarded signals arriving at nucleus
  std::optional<uint32_t> timeout_seconds;
  NotifyProxy* notify = nullptr;
  // Polled every watchdog_interval_ms while the container runs; when it returns true the
  // container is killed (SIGKILL through `forward`) and the result says so.
  std::function<bool()> watchdog;
  int watchdog_interval_ms = 200;
  // How to end the container at once (the watchdog, the second step of --timeout); null:
  // SIGKILL through `forward`. gVisor kills its cgroup: a stalled Sentry no longer answers
  // `runsc kill`.
  std::function<void()> kill;
  // Called once when the container has run for idle_after_ms with its workload started
  // (the sync socket at EOF: no child report can come), not at all if it ends sooner:
  // nucleus gives back what start-up needed (sys::release_startup_pages).
  std::function<void()> on_idle;
  int idle_after_ms = 1000;
};

struct MonitorResult {
  int wait_status = 0;
  bool timed_out = false;
  bool watchdog_fired = false;
  std::optional<ChildReport> report;
};

// The parent's loop while a container runs in the foreground, for both backends (bubblewrap
// monitor_child). It waits on the child's pidfd (the container's PID 1, or runsc), the sync
// socket, a signalfd and, when asked, a timer and the notify proxy:
//  - a forwarded signal goes to the container's PID 1 (the supervisor passes it on);
//  - --timeout sends SIGTERM, then SIGKILL 2 s later (the whole pid namespace dies);
//  - a ChildReport is kept; EOF on the sync socket means the workload was exec'd;
//  - it returns when PID 1 has exited and been reaped.
MonitorResult monitor_container(OwnedChild& child, const MonitorOptions& options);

}  // namespace nucleus
