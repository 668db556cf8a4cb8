#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "config/workload_spec.h"
#include "core/sys/unique_fd.h"

namespace nucleus::native {

struct NamespaceSet {
  bool user = false;
  bool network = true;  // false with --network host
};

// clone flags for the set: always pid, mount, uts and ipc; net and user as asked.
uint64_t clone_flags_for(const NamespaceSet& set);

// "user,pid,mnt,uts,ipc,net" for messages and `nucleus check`.
std::string describe_namespaces(uint64_t clone_flags);

// The mount namespace of our child pid (not yet reaped, so the pid is its), for the cleanup
// keeper to let go of after nucleus has exited (core/keeper.h); empty if that fails.
UniqueFd open_mount_namespace(pid_t pid) noexcept;

}  // namespace nucleus::native
