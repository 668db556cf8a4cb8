#pragma once

#include "backends/native/plan/launch_plan.h"

namespace nucleus::native {

// The cloned child: PID 1 of the new namespaces. Runs the container's set-up over the
// plan, then either becomes the PID-1 supervisor of the forked workload or (--no-init)
// execs the workload itself. Never returns. Between clone and exec nothing here throws,
// allocates or prints: a failure is one ChildReport on sync_fd and _exit.
[[noreturn]] void run_child(LaunchPlan& plan, int sync_fd) noexcept;

// `nucleus exec`: a process already inside the container's namespaces and cgroup (joined
// by its parent). Sets no_new_privs, the workdir, rlimits and oom_score_adj, then the same
// workload steps as the container's own (terminal, capabilities, identity, seccomp, exec).
[[noreturn]] void run_exec_child(LaunchPlan& plan, int sync_fd) noexcept;

}  // namespace nucleus::native
