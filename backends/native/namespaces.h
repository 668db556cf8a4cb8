#pragma once

#include <cstdint>
#include <string>

#include "config/workload_spec.h"

namespace nucleus::native {

struct NamespaceSet {
  bool user = false;
  bool network = true;  // false with --network host
};

// clone flags for the set: always pid, mount, uts and ipc; net and user as asked.
uint64_t clone_flags_for(const NamespaceSet& set);

// "user,pid,mnt,uts,ipc,net" for messages and `nucleus check`.
std::string describe_namespaces(uint64_t clone_flags);

}  // namespace nucleus::native
