#pragma once

#include <sched.h>

#include <sys/types.h>

#include <cstdint>

#include "core/sys/unique_fd.h"

namespace nucleus::native {

// Forks into new namespaces with clone3 (CLONE_PIDFD so the parent never signals a
// recycled pid; CLONE_CLEAR_SIGHAND so no handler of ours survives into the child), and
// falls back to clone(2) on kernels without clone3. Like fork(): returns 0 in the child.
// The caller must be single-threaded: the child inherits one thread and any lock another
// thread held. Throws Error in the parent.
// cgroup_fd >= 0 (a cgroup2 directory) starts the child in that cgroup (CLONE_INTO_CGROUP):
// it never runs a single instruction outside it.
pid_t clone_container(uint64_t namespace_flags, UniqueFd* pidfd, int cgroup_fd = -1);

// Moves our new child off the CPU we run on (to the others in `allowed`, if any), before
// "G", after which the child takes `allowed` back: it has its root to build while we make
// its cgroup, and a scheduler that packs new tasks onto busy CPUs (as this VM's does,
// sparing halted vCPUs) would otherwise queue it behind us for half a millisecond. Best
// effort.
void start_child_elsewhere(pid_t child, const cpu_set_t& allowed) noexcept;

// Throws Error unless the calling process has exactly one thread.
void require_single_thread();

}  // namespace nucleus::native
