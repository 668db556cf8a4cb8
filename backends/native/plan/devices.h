#pragma once

#include <vector>

#include "backends/native/child/mount_ops.h"

// The minimal /dev every container gets: a small read-only tmpfs holding bind mounts of
// the host's harmless character devices, the usual links, and fresh devpts, shm and mqueue
// instances. No block devices, no /dev/mem, no fuse; mknod is not needed (and is refused
// by the capability and seccomp layers).
namespace nucleus::native {

struct DevOptions {
  bool tty_group_mapped = true;  // gid 5 exists in the container (devpts gid=5)
};

// /dev's fixed tree: its tmpfs and, beneath it, the device binds and links (targets
// relative to /dev). It needs none of the container's namespaces, so under `run` the parent
// builds it as a detached tree (dev_tree.h); otherwise the child mounts the tmpfs and runs
// `inside` beneath it. Either way the same ops, through execute_mount_ops.
struct DevTree {
  MountOp tmpfs;                // at "dev", relative to the container's root
  std::vector<MountOp> inside;  // relative to /dev
};
DevTree plan_dev_tree();

// What follows the tree, relative to the container's root: devpts, shm and mqueue (they
// belong to the container's user and IPC namespaces), then /dev made read-only.
void append_dev_mounts(std::vector<MountOp>& ops, const DevOptions& options);

}  // namespace nucleus::native
