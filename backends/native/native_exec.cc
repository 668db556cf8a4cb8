// `nucleus exec` on the native backend (runc exec): one more process in a running
// container. nucleus starts a helper that joins the container's cgroup and, through a
// pidfd of its init, all its namespaces at once (setns(pidfd, ...)); the helper starts the
// process, which is thereby inside the container's pid namespace, reports its pid and
// exits. The process then runs the same workload steps as the container's own init. nucleus
// itself never enters the container.
// Both start as posix_spawn starts a child (init::clone_on_stack, as the supervisor starts a
// workload): no page table of nucleus is copied twice and nothing faults on copy-on-write;
// nucleus sleeps until the helper is done, the helper until the process has exec'd (or
// failed). What they send queues on the sync socket meanwhile.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "backends/native/child/child.h"
#include "backends/native/child/clone.h"
#include "backends/native/child/handshake.h"
#include "backends/native/native_backend.h"
#include "backends/native/native_network.h"
#include "backends/native/plan/namespaces.h"
#include "config/spec_json.h"
#include "backends/native/oci/oci_support.h"
#include "core/policy/seccomp_compile.h"
#include "core/cgroup/cgroup.h"
#include "core/sys/error.h"
#include "core/init/clone_on_stack.h"
#include "network/client/container_network.h"
#include "core/init/supervisor.h"
#include "core/container/monitor.h"
#include "core/sys/sys.h"
#include "core/sys/trace_timing.h"

namespace nucleus::native {
namespace {

constexpr size_t kStackSize = 256 * 1024;

struct ExecStart {
  LaunchPlan* plan;
  int sync_fd;
  int parent_fd;  // nucleus's end: not the helper's nor the process's to hold
  int init_pidfd;
  int ns_flags;
  const std::vector<int>* cgroup_join;
};

constexpr int kSpawnFlags = CLONE_VM | CLONE_VFORK | SIGCHLD;

int start_process(void* p) noexcept {
  auto* s = static_cast<ExecStart*>(p);
  run_exec_child(*s->plan, s->sync_fd);
}

// The helper, in nucleus's memory until it exits: syscalls only, nothing allocated and
// nothing changed that nucleus reads afterwards.
int join_and_start(void* p) noexcept {
  auto* s = static_cast<ExecStart*>(p);
  ::close(s->parent_fd);
  if (int err = join_cgroup_through(*s->cgroup_join)) {
    send_child_report(s->sync_fd, 0, err);
    ::_exit(1);
  }
  if (::setns(s->init_pidfd, s->ns_flags) != 0) {
    send_child_report(s->sync_fd, 0, errno);
    ::_exit(1);
  }
  pid_t pid = init::clone_on_stack(start_process, s, kSpawnFlags, kStackSize);
  if (pid < 0) {
    send_child_report(s->sync_fd, 0, -pid);
    ::_exit(1);
  }
  send_process_started(s->sync_fd, pid);
  ::_exit(0);
}

}  // namespace

int NativeBackend::exec(const ContainerRecord& r, const std::string& dir, const ContainerSpec& container,
                       const ProcessSpec& p, const ExecOptions& o) {
  std::unique_ptr<Cgroup> cgroup = open_cgroup(r.cgroup);  // released, not removed
  std::string st = status_of(r, dir, cgroup.get());
  if (st != "running") throw Error(r.name, "cannot exec in a container that is " + st);
  if (p.terminal && o.console_socket.empty()) throw Error("--console-socket", "a terminal needs a console socket");
  // Without one, the container's root is a chroot that joining namespaces does not give.
  if (!container.has(NamespaceType::kMount)) throw Error(r.name, "exec into a container without a mount namespace is not supported by nucleus");
  LaunchPlan plan = build_exec_plan(container, p, real_host());
  plan.preserve_fds = o.preserve_fds;
  if (plan.seccomp_profile) plan.seccomp = prepare_seccomp(*plan.seccomp_profile, plan.seccomp_conditions);
  plan.finalize();
  timing::mark("exec: planned");
  UniqueFd init = container_init_pidfd(r);
  if (!init) throw Error(r.name, "the container's init is gone");
  // A process that could change the container's network namespace: the namespace serves
  // no later container (its netd checks this at the container's end). Said before the
  // process exists, while the container runs. Whether the namespace was recyclable is
  // netd's to know (this nucleus may judge a running container's spec otherwise); in a
  // user namespace of the container's own, the capabilities do not reach it.
  if (container.network == NetworkMode::kBridge && !container.has(NamespaceType::kUser) &&
      could_change_the_namespace(p.capabilities)) {
    net::keep_from_recycling(r.name, net::network_state_dir(dir.substr(0, dir.rfind('/'))));
  }
  CgroupJoinFiles join = open_cgroup_join_files(cgroup.get());
  // Without --detach the process is ours to wait for: once the helper exits, it is
  // reparented here.
  if (!o.detach && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) throw_errno("become a subreaper");

  auto [parent_end, child_end] = sys::socketpair(SOCK_SEQPACKET, "create the sync socket");
  std::optional<ForwardedSignals> signals;
  if (!o.detach) signals.emplace();
  require_single_thread();
  // Dumpability belongs to the memory, which the process shares with us until its exec,
  // while it is already in the container's pid namespace: not dumpable, no process there
  // can open our /proc/PID/mem, whatever it is allowed to ptrace (as PID 1 before it).
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("make nucleus non-dumpable before the exec");
  ExecStart start{&plan, child_end.get(), parent_end.get(), init.get(), static_cast<int>(namespace_flags(container)),
                  &join.fds};
  // Returns once the helper has exited, after the process exec'd or failed.
  pid_t helper = init::clone_on_stack(join_and_start, &start, kSpawnFlags, kStackSize);
  if (helper < 0) throw Error("start the exec helper", "", -helper);
  child_end.reset();
  OwnedChild helper_child(helper, sys::pidfd_open(helper, "watch the exec helper"));
  pid_t started = 0;
  for (bool done = false; !done;) {
    ChildMessage m = receive_child_message(parent_end.get());
    switch (m.kind) {
      case ChildMessage::kProcessStarted:
        started = m.pid;
        helper_child.wait();
        break;
      case ChildMessage::kReport:
        if (m.report.step == 0) throw Error("enter the container", "", m.report.err);
        throw describe_child_failure(plan, m.report);
      case ChildMessage::kTerminal: send_to_console_socket(o.console_socket, m.fd.get()); break;
      case ChildMessage::kReady:
      case ChildMessage::kRootReady: break;
      case ChildMessage::kEof: done = true; break;
    }
  }
  if (started <= 0) throw Error("exec", "the process did not start");
  if (!o.pid_file.empty()) write_pid_file(o.pid_file, started);
  // A detached process is not ours: once the helper exited it went to the caller's
  // subreaper (containerd's shim) or the container's init, which may already have reaped
  // it (a short command). Its pid is all the caller asked for.
  if (o.detach) return 0;
  // Ours as subreaper: even if it has exited, it waits for us as a zombie.
  OwnedChild process(started, sys::pidfd_open(started, "watch the exec'd process"));
  timing::mark("exec: started");
  MonitorOptions options;
  options.signal_fd = signals->fd();
  MonitorResult result = monitor_container(process, options);
  return init::exit_code_from_wait_status(result.wait_status);
}

}  // namespace nucleus::native
