#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/cgroup/cgroup.h"
#include "core/container/child_report.h"
#include "core/container/container_record.h"
#include "core/container/keeper.h"
#include "core/container/monitor.h"
#include "core/container/stdio_relay.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"

// A container this process holds: `run` from create to delete, and `create` until it
// returns. What both backends share lives here once: the record, the cleanup keeper, the
// cgroup, the process whose exit ends the container, and the foreground wait (signals
// forwarded, --timeout, the OOM report, the exit code). A backend derives from it to say
// how a signal reaches its container, how to end it at once, what its child reports.
//
// Destruction, on every way out: the main process is killed and reaped, the cgroup
// removed, the record removed (unless detached), and the keeper dismissed last.
namespace nucleus {

class ContainerSession {
 public:
  // `foreground`: the forwarded signals are blocked from now on (a child made meanwhile
  // inherits the mask, so its PID 1 misses none) and read by wait().
  ContainerSession(LockedContainer record, bool foreground);
  virtual ~ContainerSession();
  ContainerSession(const ContainerSession&) = delete;
  ContainerSession& operator=(const ContainerSession&) = delete;

  LockedContainer& record() { return record_; }
  const std::string& dir() const { return record_.path(); }

  // The cgroup, once the backend has made it (none: the container runs without one).
  void hold_cgroup(std::unique_ptr<Cgroup> cgroup) { cgroup_ = std::move(cgroup); }
  Cgroup* cgroup() const { return cgroup_.get(); }
  // What to remove if this process dies: the record (and what the backend keeps in it),
  // the cgroup. Call once the cgroup exists.
  void start_keeper();
  // The keeper closes fd once this process has exited (the container's mount namespace).
  void entrust(UniqueFd fd);

  // The tmpfs under the container's writable layer (an fd anywhere on it) and its size: when
  // the container ends with it full, the user is told, as of an OOM kill.
  void watch_layer(UniqueFd fd, uint64_t size) {
    layer_ = std::move(fd);
    layer_size_ = size;
  }

  // The process whose exit ends the container: native PID 1, or `runsc run`.
  void hold_main(OwnedChild main) { main_ = std::move(main); }
  OwnedChild& main() { return main_; }

  struct WaitPolicy {
    std::optional<uint32_t> timeout_seconds;
    std::optional<uint64_t> memory_limit;  // for the OOM report
    // An OOM kill in the cgroup ends the container whatever its status says (a Sentry).
    bool oom_is_fatal = false;
  };
  // Waits in the foreground until the container has ended, forwarding signals; returns
  // nucleus's exit code: the workload's status, 128+N, 137 on an OOM kill (said on
  // stderr), 124 after --timeout. Throws the child's report as an Error.
  int wait(const WaitPolicy& policy);

  // The container has ended (its main process reaped, its cgroup empty): the record is set
  // aside at once, and it and the cgroup directories are removed by the keeper once this
  // process has exited, so the exit status comes first (here and now without a keeper).
  void remove_after_exit();

  // Event lines (core/service/events.h) for the events file at `path`, appended by the
  // keeper once this process has exited: no write on the way to the exit status (here and
  // now without a keeper).
  void leave_events(const std::string& path, const std::string& lines);

  // The container outlives this process (an OCI create): its record, cgroup and main
  // process are left to the later verbs; the keeper is dismissed.
  void detach();
  bool detached() const { return detached_; }

 protected:
  // How a signal reaches the container (default: the main process); false when it cannot
  // yet (the monitor offers it again: monitor.h).
  virtual bool forward(int signal) {
    main_.signal(signal);
    return true;
  }
  // Stdio this process copies for the container (gVisor and regular files), or null.
  virtual StdioRelay* relay() { return nullptr; }
  // Ends the container at once (default: SIGKILL through forward).
  virtual void kill_now() { forward(SIGKILL); }
  // Polled while it runs; true ends it (kill_now) and counts as an OOM kill.
  virtual bool watchdog() { return false; }
  virtual bool has_watchdog() const { return false; }
  // The native child's sync socket: its messages, its reports.
  virtual int sync_fd() const { return -1; }
  virtual bool take_message() { return false; }
  virtual Error describe(const ChildReport& report) const {
    return Error("start the container", "", report.err);
  }
  virtual NotifyProxy* notify() { return nullptr; }
  // What this process gives back once the container has run for a while.
  virtual void on_idle() {}

 private:
  // Declared first, so it is dismissed last: it covers everything below.
  std::optional<CleanupKeeper> keeper_;
  LockedContainer record_;
  std::unique_ptr<Cgroup> cgroup_;
  std::optional<ForwardedSignals> signals_;
  OwnedChild main_;
  UniqueFd layer_;
  uint64_t layer_size_ = 0;
  bool detached_ = false;
};

}  // namespace nucleus
