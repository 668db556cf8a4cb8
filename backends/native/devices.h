#pragma once

#include <vector>

#include "backends/native/mount_ops.h"

// The minimal /dev every container gets: a small read-only tmpfs holding bind mounts of
// the host's harmless character devices, the usual links, and fresh devpts, shm and mqueue
// instances. No block devices, no /dev/mem, no fuse; mknod is not needed (and is refused
// by the capability and seccomp layers).
namespace nucleus::native {

struct DevOptions {
  bool tty_group_mapped = true;  // gid 5 exists in the container (devpts gid=5)
};

// Appends /dev's ops. Returns how many of them, from the first, make its fixed tree (the
// tmpfs, the device binds, the links): the part the parent may build beforehand as a
// detached tree (dev_tree.h). devpts, shm and mqueue follow; they belong to the
// container's user and IPC namespaces.
size_t append_dev_ops(std::vector<MountOp>& ops, const DevOptions& options);

}  // namespace nucleus::native
