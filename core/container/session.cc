#include "core/container/session.h"

#include <signal.h>
#include <sys/statfs.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/init/supervisor.h"
#include "core/service/events.h"
#include "core/sys/exit_codes.h"
#include "core/sys/units.h"

namespace nucleus {

ContainerSession::ContainerSession(LockedContainer record, bool foreground) : record_(std::move(record)) {
  if (foreground) signals_.emplace();
}

ContainerSession::~ContainerSession() {
  if (detached_) return;
  main_ = OwnedChild();  // killed and reaped
  if (cgroup_) cgroup_->destroy();
  record_.remove();
}

void ContainerSession::start_keeper() {
  CleanupTargets targets;
  targets.record = record_.path();
  if (cgroup_) targets.cgroups = cgroup_->directories();
  keeper_.emplace(targets);
}

void ContainerSession::entrust(UniqueFd fd) {
  if (keeper_) keeper_->entrust(std::move(fd));
}

void ContainerSession::remove_after_exit() {
  std::vector<std::string> dirs = cgroup_ ? cgroup_->directories() : std::vector<std::string>{};
  // Below a parent nucleus made (--cgroup-parent): the parent goes too, after the
  // directory, which the keeper's plain rmdir would not do.
  bool made_parent = !dirs.empty() && cgroup_->fs().is_made_parent(dirs[0].substr(0, dirs[0].find_last_of('/')));
  std::string aside = record_.set_aside();
  if (keeper_ && !made_parent) {
    try {
      keeper_->leave_behind(dirs, aside);
      if (cgroup_) cgroup_->release();
      return;
    } catch (const Error&) {
      // Too much to hand over: done here.
    }
  }
  if (cgroup_) cgroup_->destroy();
  if (!aside.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(aside, ignored);
  }
}

void ContainerSession::leave_events(const std::string& path, const std::string& lines) {
  if (keeper_) {
    try {
      keeper_->leave_events(path, lines);
      return;
    } catch (const Error&) {
      // Too much to hand over: written here.
    }
  }
  service::append_events(path.c_str(), lines.data(), lines.size());
}

void ContainerSession::detach() {
  record_.keep();
  if (cgroup_) cgroup_->release();
  main_.release();
  detached_ = true;
  keeper_.reset();
}

int ContainerSession::wait(const WaitPolicy& policy) {
  MonitorOptions options;
  options.forward = [this](int sig) { return forward(sig); };
  options.relay = relay();
  options.kill = [this] { kill_now(); };
  if (has_watchdog()) options.watchdog = [this] { return watchdog(); };
  options.sync_fd = sync_fd();
  options.take_message = [this] { return take_message(); };
  options.signal_fd = signals_ ? signals_->fd() : -1;
  options.timeout_seconds = policy.timeout_seconds;
  options.notify = notify();
  options.on_idle = [this] { on_idle(); };
  MonitorResult result = monitor_container(main_, options);
  if (result.report) throw describe(*result.report);

  int code = init::exit_code_from_wait_status(result.wait_status);
  bool oom = false;
  if (cgroup_ && policy.memory_limit) {
    bool killed = cgroup_->oom_kills() > 0;
    oom = result.watchdog_fired || (killed && (policy.oom_is_fatal || code == 128 + SIGKILL));
  }
  if (oom) {
    report_to_user("workload killed: out of memory (limit " + format_size(*policy.memory_limit) + ")");
    code = 128 + SIGKILL;
  }
  struct statfs layer;
  if (layer_ && ::fstatfs(layer_.get(), &layer) == 0 && layer.f_bavail == 0) {
    report_to_user("the container's writable layer is full (limit " + format_size(layer_size_) + ", --layer-size)");
  }
  layer_.reset();
  ContainerRecord& r = record_.record();
  r.status = "stopped";
  r.exit_code = code;
  r.oom_killed = oom;
  if (result.timed_out) {
    spdlog::warn("workload timed out after {}s", *policy.timeout_seconds);
    return exit_code::kTimeout;
  }
  return code;
}

}  // namespace nucleus
