#pragma once

#include <cstdint>
#include <optional>

#include "core/child_report.h"
#include "core/notify_socket.h"
#include "core/scoped.h"

namespace nucleus::native {

struct MonitorOptions {
  int sync_fd = -1;    // the child's reports, until EOF
  int signal_fd = -1;  // forwarded signals arriving at nucleus
  std::optional<uint32_t> timeout_seconds;
  NotifyProxy* notify = nullptr;
};

struct MonitorResult {
  int wait_status = 0;
  bool timed_out = false;
  std::optional<ChildReport> report;
};

// The parent's loop while the container runs (bubblewrap monitor_child). It waits on the
// child's pidfd, the sync socket, a signalfd and, when asked, a timer and the notify
// proxy:
//  - a forwarded signal goes to the container's PID 1 (the supervisor passes it on);
//  - --timeout sends SIGTERM, then SIGKILL 2 s later (the whole pid namespace dies);
//  - a ChildReport is kept; EOF on the sync socket means the workload was exec'd;
//  - it returns when PID 1 has exited and been reaped.
MonitorResult monitor_container(OwnedChild& child, const MonitorOptions& options);

}  // namespace nucleus::native
