#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/cgroup/self_cgroup.h"

// A cgroup of a process of nucleus's own, apart from the caller's and from any container's:
// a service's monitor sits in one, as podman's conmon does (docs/services.md). It is one
// directory directly below the cgroups the process sits in, in every hierarchy mounted
// (each v1 hierarchy, named ones included, and cgroup2, also the controller-less one of a
// hybrid host), so the monitor is charged and found apart, within whatever the caller is
// in (a systemd unit keeps it). Processes move themselves: nucleus never moves another.
namespace nucleus {

// "nucleus-<pid>-monitor": the pid of the process it is made for, so the collector of stale
// cgroups (collect_stale_cgroups) takes it once that process is gone and it is empty.
std::string monitor_cgroup_name(pid_t pid);
// Whether a path's last component is such a name (what `rm` and the cleanup may remove).
bool is_monitor_cgroup(const std::string& dir);

// The directories `name` would have below this process's cgroups: one per mount (co-mounted
// v1 controllers share one), v1 hierarchies first. Pure: unit-tested on captured text.
std::vector<std::string> own_cgroup_plan(const CgroupHierarchies& hierarchies, const std::string& name);

// Makes the plan's directories (a v1 cpuset takes its parent's CPUs and nodes) and moves
// the calling process in. It must be single-threaded (a v1 hierarchy's `tasks` moves the
// caller only: the cheap way in). Returns the directories; throws Error, leaving nothing.
std::vector<std::string> enter_own_cgroup(const CgroupHierarchies& hierarchies, const std::string& name);

// Moves the calling process back to the parents of `dirs` (where it came from): each
// parent's `tasks` when single-threaded (v1), its cgroup.procs otherwise. 0 or an errno.
int leave_own_cgroup(const std::vector<std::string>& dirs, bool single_threaded) noexcept;

// rmdir of each, again while one is busy (its last process exiting a moment ago) until
// `patience` has passed; never kills anything. True once all are gone.
bool remove_own_cgroup(const std::vector<std::string>& dirs, std::chrono::milliseconds patience) noexcept;

}  // namespace nucleus
