#pragma once

#include <string>
#include <utility>
#include <vector>

#include "backends/native/plan/rootfs.h"
#include "config/container_spec.h"

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
RootPlan plan_oci_root(const ContainerSpec& spec, const OciRootInputs& inputs, const HostProbe& probe);

}  // namespace nucleus::native
