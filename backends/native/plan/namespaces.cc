#include "backends/native/plan/namespaces.h"

#include <fcntl.h>
#include <sched.h>

#include <cstdio>

#include <utility>

namespace nucleus::native {
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
