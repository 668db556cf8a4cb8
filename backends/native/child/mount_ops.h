#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

// The container's filesystem as a typed list of operations, built by the parent and
// executed in order by the child (bubblewrap SetupOp style). Targets are paths relative to
// the root being built, resolved with openat2(RESOLVE_IN_ROOT), so a symlink in an image
// or a shared volume can never redirect a mount outside it (CVE-2021-30465). A failure
// names the operation (its index) and the errno; the parent words it with describe().
namespace nucleus::native {

enum class MountKind : uint8_t {
  kBind,       // bind `source` (a host path) at target; recursive
  kMoveTree,   // attach the detached mount the parent sent (idmapped rootfs)
  kAttachTree, // attach the detached mount the parent made for this op (its source fd): a
               // file of its own, as it set it up (a bridge's /etc files, native_network.h)
  kTmpfs,      // a fresh tmpfs; data = options
  kProc,
  kSysfs,
  kDevpts,     // data = options
  kMqueue,
  kOverlay,    // data = options
  kMkdir,      // a directory (created with its parents when missing)
  kSymlink,    // data = the link's text
  kReadOnly,   // make the mount at target read-only (that mount only)
  kMask,       // hide target: a file gets the root's /dev/null bound over it (checked to be
               // char 1:3), a directory an empty read-only tmpfs; absent targets are skipped
  kReadOnlyRebind,  // bind target onto itself, read-only, recursively; absent: skipped
  kWriteFile,  // write data into an existing file (a sysctl of the container's namespaces)
  kFilesystem, // a fresh mount of `fstype` (OCI mounts of other kinds); source, flags, data
  kDevice,     // mknod a device node (mode, rdev) owned by uid:gid
  kPropagation,  // set the propagation of the mount at target (flags: MS_SHARED ... | MS_REC)
};

enum class TargetKind : uint8_t { kDirectory, kFile };

struct MountOp {
  MountKind kind = MountKind::kMkdir;
  std::string target;  // relative to the root being built; "" is the root itself
  std::string source;  // kBind: canonical host path, opened without following symlinks
  std::string data;    // options, or link text
  unsigned long flags = 0;     // MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY for new mounts
  uint64_t attr = 0;           // kBind/kMoveTree: MOUNT_ATTR_* set on the tree before attaching
  TargetKind target_kind = TargetKind::kDirectory;
  bool no_symlinks = false;    // kernel filesystems: the mount point must be a real directory
  bool recursive = true;       // kBind: the source's submounts too ("rbind"; OCI "bind": not)
  bool copy_up = false;        // kTmpfs: the directory's content is copied into the new tmpfs
  bool replace_link = false;   // a link at target (dangling or not) is removed first, the mount
                               // point then a file of the root's own (mount_target.h)
  bool follow_source = false;  // kBind: the source path may contain symlinks (OCI: the
                               // orchestrator's host paths; nucleus's own never do)
  unsigned long propagation = 0;  // kBind, kFilesystem: MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
  std::string fstype;          // kFilesystem
  uint32_t mode = 0;           // kDevice: S_IFCHR/S_IFBLK/S_IFIFO | permissions
  uint64_t rdev = 0;           // kDevice
  uint32_t uid = 0, gid = 0;   // kDevice

  // "bind /usr at /usr (read-only)", "mount proc at /proc".
  std::string describe() const;
};

// Child side. Opens every kBind source (by path, refusing symlinks) into source_fds (one
// slot per op, preallocated by the parent). Must run before anything is mounted over the
// host tree. Returns 0, or an errno with *failed set to the op's index.
int open_bind_sources(const std::vector<MountOp>& ops, std::vector<int>& source_fds,
                      int* failed) noexcept;

// Child side. Executes ops beneath root_fd; moved_tree_fd is the parent's detached mount
// for kMoveTree (or -1). Returns 0, or an errno with *failed set to the op's index.
int execute_mount_ops(int root_fd, std::span<const MountOp> ops, std::span<const int> source_fds,
                      int moved_tree_fd, int* failed) noexcept;

// Child side. Attaches tree_fd (a detached mount, its attributes already set) at op's
// target beneath root_fd, creating the mount point. Returns 0 or an errno.
int attach_detached_tree(int tree_fd, int root_fd, const MountOp& op) noexcept;

}  // namespace nucleus::native
