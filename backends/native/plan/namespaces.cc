#include "backends/native/plan/namespaces.h"

#include <fcntl.h>
#include <sched.h>

#include <cstdio>

#include <utility>

namespace nucleus::native {
uint64_t clone_flag(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid: return CLONE_NEWPID;
    case NamespaceType::kNetwork: return CLONE_NEWNET;
    case NamespaceType::kMount: return CLONE_NEWNS;
    case NamespaceType::kIpc: return CLONE_NEWIPC;
    case NamespaceType::kUts: return CLONE_NEWUTS;
    case NamespaceType::kUser: return CLONE_NEWUSER;
    case NamespaceType::kCgroup: return CLONE_NEWCGROUP;
  }
  return 0;
}

uint64_t namespace_flags(const ContainerSpec& spec) {
  uint64_t flags = 0;
  for (const NamespaceSpec& n : spec.namespaces) flags |= clone_flag(n.type);
  return flags;
}

UniqueFd open_mount_namespace(pid_t pid) noexcept {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/ns/mnt", static_cast<int>(pid));
  return UniqueFd(::open(path, O_RDONLY | O_CLOEXEC));
}

}  // namespace nucleus::native
