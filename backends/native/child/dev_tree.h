#pragma once

#include <sys/types.h>

#include "backends/native/plan/rootfs.h"
#include "core/sys/unique_fd.h"

// /dev's fixed part, built by the parent. The tmpfs at /dev, the six device binds and the
// links need none of the container's namespaces, so under `run` the parent builds them
// as one detached mount tree, read-only, while the child mounts the root's first layers
// (the parent would otherwise only wait), and the child attaches the whole tree with one
// move_mount ("D", handshake.h) instead of a dozen mount calls of its own. devpts, shm
// and mqueue stay with the child: they belong to its user and IPC namespaces. Mounting
// beneath a detached mount needs a recent kernel (this host's 6.18 allows it; older ones
// refuse); there, or for a caller without CAP_SYS_ADMIN, the child runs the same ops.
namespace nucleus::native {

// Builds plan.dev (devices.h: the tmpfs, then its `inside` ops through execute_mount_ops,
// as the child would) as a detached tree, with the mount points of the /dev ops that follow
// it in root_ops, owned by uid:gid (the container root's host ids) and read-only. An empty
// fd when this kernel or caller cannot; never throws.
UniqueFd build_dev_tree(const RootPlan& plan, uid_t uid, gid_t gid) noexcept;

}  // namespace nucleus::native
