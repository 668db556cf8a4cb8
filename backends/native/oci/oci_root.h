#pragma once

#include <string>
#include <utility>
#include <vector>

#include "backends/native/plan/rootfs.h"
#include "config/workload_spec.h"

// The root of an OCI container, exactly as its config.json describes it: the bundle's root
// bound (and made read-only at the end when root.readonly), then config.mounts in order,
// the default devices and config.linux.devices, /dev's standard links, sysctls, and the
// masked and read-only paths. Nothing of nucleus's own view is added: the orchestrator
// decided. Planned in the parent like every root (mount_ops.h), so targets resolve inside
// the root and a symlink in an image cannot redirect a mount.
namespace nucleus::native {

struct OciRootInputs {
  bool user_namespace = false;
  // The container's cgroup directories by controller (v1), or one entry {"", dir} (v2),
  // bound where a mount of type "cgroup" asks for the cgroup filesystem.
  std::vector<std::pair<std::string, std::string>> cgroup_dirs;
  bool cgroup_v2 = false;
};

// Throws Error naming the config field ("config.json: mounts[3].options: ...").
RootPlan plan_oci_root(const WorkloadSpec& spec, const OciRootInputs& inputs, const HostProbe& probe);

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

}  // namespace nucleus::native
