#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/sys/unique_fd.h"

// What a nucleus killed mid-run (SIGKILL, the OOM killer) would leave behind: a container's
// cgroup directories and, under gVisor, a sandbox and runsc's state. The keeper is a process
// that does nothing but wait for nucleus to die (PR_SET_PDEATHSIG); when it does without
// having dismissed the keeper, the keeper execs `nucleus internal-cleanup ARGS`, which kills
// what is left and removes it. On every normal path nucleus cleans up itself and the
// destructor dismisses the keeper.
//
// Dismissal is a message on a socket the keeper reads once nucleus has exited: nucleus does
// not wait for it. With the message comes what nucleus would otherwise be last to let go of
// on its way out, the container's mount namespace (entrust): unmounting a container's tree
// takes about 0.3 ms, and the keeper does it after nucleus has returned the exit status
// instead of before. Nothing of it is visible meanwhile: no process is left in that
// namespace. So a dismissed keeper outlives nucleus by a moment, and lives as long as
// nucleus does: destroy it only on the way out (both backends' run do).
//
// The keeper shares nucleus's memory (clone with CLONE_VM, on its own small stack) instead of
// copying it: no page tables to copy, nothing to tear down, no private pages per container
// (docs/performance.md); nucleus's own exit then leaves the address space to the keeper too.
// Until it execs it makes raw system calls only, which touch neither errno (nucleus's,
// shared) nor any memory but its stack and the argv nucleus keeps for it.
namespace nucleus {

// What `nucleus internal-cleanup` (frontend/cmd_internal.cc) is to remove.
struct CleanupTargets {
  std::vector<std::string> cgroups;  // killed, emptied and removed
  std::string record;                // the container's record: deleted as `delete --force` does
                                     // (a gVisor sandbox's runsc state with it)
  bool empty() const { return cgroups.empty() && record.empty(); }
};

class CleanupKeeper {
 public:
  CleanupKeeper() = default;
  explicit CleanupKeeper(const CleanupTargets& targets);
  ~CleanupKeeper();  // dismisses the keeper, handing it what was entrusted
  // The keeper closes fd once nucleus has exited (the container's mount namespace).
  void entrust(UniqueFd fd) { entrusted_ = std::move(fd); }
  // What is left of a container that has ended, which the keeper removes once nucleus has
  // exited: its cgroup directories (emptied: rmdir), its record set aside (a directory of
  // files). Throws Error when it does not fit the dismissal.
  void leave_behind(const std::vector<std::string>& cgroup_dirs, const std::string& record_aside);
  // Event lines (core/service/events.h) the keeper appends to the events file at `path` once
  // nucleus has exited, after what leave_behind gave it. Throws Error when they do not fit.
  void leave_events(const std::string& path, const std::string& lines);
  CleanupKeeper(const CleanupKeeper&) = delete;
  CleanupKeeper& operator=(const CleanupKeeper&) = delete;

 private:
  std::vector<std::string> words_;  // the keeper's argv: read by it, so kept until it is gone
  std::vector<char*> argv_;
  void* stack_ = nullptr;
  pid_t pid_ = -1;
  UniqueFd dismissal_;  // our end of the keeper's socket
  UniqueFd entrusted_;
  std::string left_over_;  // leave_behind's entries
};

}  // namespace nucleus
