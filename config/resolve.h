#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "config/container_spec.h"
#include "config/workload_spec.h"

// A workload asked for by flags and YAML (WorkloadSpec), resolved once into THE container
// (ContainerSpec): the isolation preset's layers, the backend, the namespaces and id
// mappings, the identity looked up in the container's own passwd and group, the
// environment through the shared filter, the capability sets, rlimits, the seccomp
// profile, the mounts (the default /tmp included), the cgroup limits. Pure given the host's
// facts, so unit tests drive it with a fake host.
namespace nucleus {

struct HostFacts {
  bool caller_is_root = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string term;  // the caller's TERM, sanitized
  // A small file of the container's root ("etc/passwd"), "" when it has none.
  std::function<std::string(const std::string& relpath)> read_container_file;
  // Whether an absolute path is a directory in the container's view.
  std::function<bool(const std::string& path)> container_has_dir;
  // A user's JSON seccomp profile (--seccomp FILE).
  std::function<seccomp::Profile(const std::string& path)> load_seccomp_profile;
};

// Throws Error naming the option or field at fault.
ContainerSpec resolve_workload(const WorkloadSpec& request, const HostFacts& host);

// This host: paths made canonical and checked (config/host_paths.h), the caller's ids, the
// container's files read from its rootfs or the host view. Throws Error.
ContainerSpec resolve_workload(const WorkloadSpec& request);

// The ids container root maps to: a root caller gets a range of unprivileged host ids
// (kSubordinateBase..), any other caller only itself (and setgroups is denied).
void plan_user_namespace(ContainerSpec& spec, const HostFacts& host);

}  // namespace nucleus
