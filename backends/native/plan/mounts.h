#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/native/child/mount_ops.h"
#include "config/container_spec.h"
#include "core/policy/host_view.h"

// One entry of the spec's mount list as MountOps (the same for nucleus's own layout and a
// config's mounts as written), and the OCI mount options' meaning.
namespace nucleus::native {

// Where bind sources come from: nucleus's own (made canonical, opened refusing symlinks) or
// an orchestrator's host paths, which may contain symlinks (followed on the host).
enum class SourcePaths { kCanonical, kAsWritten };

// Appends the ops of m (a bind, tmpfs, proc, sysfs, devpts, mqueue or another filesystem;
// "cgroup" is the root's business). Throws Error naming `where`.
void add_mount_ops(std::vector<MountOp>& ops, const MountSpec& m, const std::string& where, const HostProbe& probe,
                   SourcePaths sources);

// The mount(2) flags and data of an OCI mount's options. Exposed for the unit tests.
struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ...
  uint64_t attr = 0;              // the same as MOUNT_ATTR_* (for binds)
  unsigned long propagation = 0;  // MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE, with MS_REC
  bool bind = false, recursive = false;
  bool copy_up = false;           // "tmpcopyup" (tmpfs only)
  std::string data;               // what is left, comma-separated (mode=755,size=64k)
};
MountOptions parse_mount_options(const std::vector<std::string>& options, const std::string& where);

// "/a/b" -> "a/b" (targets are relative to the root being built).
std::string relative(const std::string& absolute);

}  // namespace nucleus::native
