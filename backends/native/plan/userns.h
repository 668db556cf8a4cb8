#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/container_spec.h"
#include "core/sys/unique_fd.h"

// The parent's side of the user namespace: id maps, and the id-mapped view of a rootfs
// that lets container root own the image's root-owned files without changing them.
namespace nucleus::native {

struct UserNamespaceIds {
  std::vector<IdMapping> uid_map;
  std::vector<IdMapping> gid_map;
  bool deny_setgroups = false;  // required for an unprivileged caller's gid_map
};

// Writes setgroups (when denied), gid_map and uid_map of pid's user namespace. Throws Error.
void write_id_maps(pid_t pid, const UserNamespaceIds& ids);

// A detached, read-only copy of `path`'s mount tree whose files appear owned through pid's
// user namespace (MOUNT_ATTR_IDMAP). Throws Error.
UniqueFd make_idmapped_tree(const std::string& path, pid_t pid);


}  // namespace nucleus::native
