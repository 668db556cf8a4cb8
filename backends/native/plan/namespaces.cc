#include "backends/native/plan/namespaces.h"

#include <fcntl.h>
#include <sched.h>

#include <cstdio>

#include <utility>

namespace nucleus::native {
namespace {

constexpr std::pair<uint64_t, const char*> kNamespaceNames[] = {
    {CLONE_NEWUSER, "user"}, {CLONE_NEWPID, "pid"}, {CLONE_NEWNS, "mnt"},
    {CLONE_NEWUTS, "uts"},   {CLONE_NEWIPC, "ipc"}, {CLONE_NEWNET, "net"},
    {CLONE_NEWCGROUP, "cgroup"},
};

}  // namespace

uint64_t clone_flags_for(const NamespaceSet& set) {
  uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (set.network) flags |= CLONE_NEWNET;
  if (set.user) flags |= CLONE_NEWUSER;
  return flags;
}

std::string describe_namespaces(uint64_t clone_flags) {
  std::string out;
  for (const auto& [flag, name] : kNamespaceNames) {
    if ((clone_flags & flag) == 0) continue;
    if (!out.empty()) out += ",";
    out += name;
  }
  return out;
}

UniqueFd open_mount_namespace(pid_t pid) noexcept {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/ns/mnt", static_cast<int>(pid));
  return UniqueFd(::open(path, O_RDONLY | O_CLOEXEC));
}

}  // namespace nucleus::native
