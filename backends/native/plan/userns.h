#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"

// The parent's side of the user namespace: id maps, and the id-mapped view of a rootfs
// that lets container root own the image's root-owned files without changing them.
namespace nucleus::native {

struct IdMapping {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 0;
};

struct UserNamespaceIds {
  std::vector<IdMapping> uid_map;
  std::vector<IdMapping> gid_map;
  bool deny_setgroups = false;  // required for an unprivileged caller's gid_map
};

// Root caller: container ids 0..count-1 map to [base, base+count). Anyone else: their own
// uid and gid become 0 and nothing else exists (no newuidmap here).
UserNamespaceIds plan_user_namespace(bool caller_is_root, uid_t caller_uid, gid_t caller_gid,
                                     uint32_t base, uint32_t count);

// Writes setgroups (when denied), gid_map and uid_map of pid's user namespace. Throws Error.
void write_id_maps(pid_t pid, const UserNamespaceIds& ids);

// A detached, read-only copy of `path`'s mount tree whose files appear owned through pid's
// user namespace (MOUNT_ATTR_IDMAP). Throws Error.
UniqueFd make_idmapped_tree(const std::string& path, pid_t pid);

// True when `id` is mapped into the container by `map`.
bool is_mapped(const std::vector<IdMapping>& map, uint32_t id);
// The host id that `inside` (an id in the container) maps to by `map`, if it is mapped.
std::optional<uint32_t> host_id(const std::vector<IdMapping>& map, uint32_t inside);

}  // namespace nucleus::native
