#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backends/native/plan/devices.h"
#include "backends/native/child/mount_ops.h"
#include "config/container_spec.h"
#include "core/policy/host_view.h"
#include "network/etc_files.h"

// The container's root: the host read-only view, or a --rootfs directory with an
// ephemeral writable layer (overlay, tmpfs upper) or none (--read-only). The parent plans
// (plan_root), the child executes the plan and pivots into it (enter_root).
namespace nucleus::native {

// --network bridge: the files of /etc made for the container, attached over the root's in
// this order (kAttachTree ops after the volumes; native_network.h makes them, or a standby).
inline constexpr const auto& kBridgeEtcFiles = net::kEtcFileNames;

struct RootOptions {
  std::optional<std::string> rootfs;  // canonical; absent: host read-only view
  bool read_only = false;
  bool idmapped_rootfs = false;       // the parent sends an id-mapped tree of rootfs
  bool user_namespace = false;        // overlay needs userxattr in a user namespace
  NetworkMode network = NetworkMode::kNone;
  std::vector<MountSpec> mounts;      // binds (sources canonical) and tmpfs, in order
  std::string workdir = "/";
  bool tty_group_mapped = true;
  std::vector<std::string> masked_paths, readonly_paths;
  bool clamp_user_namespaces = false;  // max_user_namespaces=0 inside (own user ns only)
  bool read_only_binds = true;   // false only for a test-only ablation run
};

struct RootPlan {
  std::string staging;               // host directory the staging tmpfs covers (private ns)
  std::string staging_options = "mode=0755";  // its mount data (size=: the layer's bound)
  std::vector<MountOp> staging_ops;  // beneath the staging tmpfs
  std::string root_subdir;           // "" (the staging tmpfs is the root) or "root"
  std::vector<MountOp> root_ops;     // beneath the new root
  // nucleus's /dev (devices.h), made before root_ops[dev_at]: ready-made by the parent
  // ("D", dev_tree.h) or here. None (OCI containers): no "D".
  std::optional<DevTree> dev;
  size_t dev_at = 0;
  // linux.rootfsPropagation (MS_SHARED, MS_SLAVE, ... with MS_REC), set on "/" once the
  // root is entered, as crun does: pivot_root refuses a shared new root, and set there the
  // container's root joins no peer group of the host's. 0: left private.
  unsigned long root_propagation = 0;
  // No mount namespace (a config that lists none): the root is this host directory, entered
  // with chroot in the caller's mount namespace, where nothing is mounted; the rest is empty.
  std::string chroot;
};

// Throws Error when the host offers no staging directory.
RootPlan plan_root(const RootOptions& options, const HostProbe& probe);

// The host directory a staging tmpfs covers in the child's private mount namespace.
std::string pick_staging(const HostProbe& probe);

// Child side: private propagation, bind sources opened, staging tmpfs, both op lists,
// pivot_root into the new root with the old one detached, cwd "/". Returns 0, or an errno
// with *step (a ChildStep) and *index (an op index, or -1) set.
struct RootFds {
  std::vector<int>* staging_sources;  // preallocated, one slot per staging op
  std::vector<int>* root_sources;     // preallocated, one slot per root op
  int moved_tree = -1;                // the id-mapped rootfs from the parent, or -1
  std::vector<int>* dev_sources = nullptr;  // preallocated, one slot per DevTree::inside op
  int sync_fd = -1;                   // where "D" arrives, when the plan has a /dev tree
};
int enter_root(const RootPlan& plan, RootFds fds, int* step, int* index) noexcept;

}  // namespace nucleus::native
