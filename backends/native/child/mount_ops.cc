#include "backends/native/child/mount_ops.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/native/child/copy_tree.h"
#include "backends/native/child/mount_target.h"
#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

// ---- child side: no allocation, no exceptions ------------------------------------------

int mount_at_fd(const char* source, int target_fd, const char* fstype, unsigned long flags,
                const char* data) noexcept {
  char target[32];
  sys::proc_fd_path(target_fd, target);
  return mount(source, target, fstype, flags, data);
}

// Attaches tree_fd (a detached mount) at target_fd after setting attr on the whole tree,
// so the mount is never visible with weaker flags than asked.
int attach_tree(int tree_fd, int target_fd, uint64_t attr) noexcept {
  if (attr != 0) {
    mount_attr a = {};
    a.attr_set = attr;
    // An access-time mode replaces the tree's: the kernel wants the whole field cleared.
    if (attr & MOUNT_ATTR__ATIME) a.attr_clr = MOUNT_ATTR__ATIME;
    if (sys::raw_mount_setattr(tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a) != 0) return -1;
  }
  return sys::raw_move_mount(tree_fd, "", target_fd, "",
                             MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int make_read_only(int root_fd, const MountOp& op) noexcept {
  int fd = try_open(root_fd, op.target.c_str(), TargetKind::kDirectory, op.no_symlinks);
  if (fd < 0) return -1;
  mount_attr a = {};
  a.attr_set = MOUNT_ATTR_RDONLY;
  int rc = sys::raw_mount_setattr(fd, "", AT_EMPTY_PATH, &a);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc;
}

// The directory that will hold `target` (created as needed, beneath the root) and, in
// *base (pointing into path), the entry's own name. Returns the directory fd or -1.
int open_parent(int root_fd, const std::string& target, char (&path)[PATH_MAX], const char** base) noexcept {
  size_t len = target.size();
  if (len == 0 || len >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(path, target.c_str(), len + 1);
  char* slash = strrchr(path, '/');
  if (slash == nullptr) {
    *base = path;
    return try_open(root_fd, "", TargetKind::kDirectory, true);
  }
  *slash = '\0';
  *base = slash + 1;
  return open_or_create_at(root_fd, path, TargetKind::kDirectory, true);
}

int make_symlink(int root_fd, const MountOp& op) noexcept {
  char path[PATH_MAX];
  const char* base = nullptr;
  int parent = open_parent(root_fd, op.target, path, &base);
  if (parent < 0) return -1;
  int rc = symlinkat(op.data.c_str(), parent, base);
  int saved = errno;
  ::close(parent);
  if (rc != 0 && saved == EEXIST) return 0;  // an image may already carry the same link
  errno = saved;
  return rc;
}

// The container's /dev/null, refused unless it really is the null device (CVE-2025-31133:
// a /dev/null swapped for a symlink or another file made masks expose their target).
int open_dev_null(int root_fd) noexcept {
  open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = sys::raw_openat2(root_fd, "dev/null", how);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    ::close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

// What masks are made of, opened by the first mask that needs each and cloned for the
// rest: a clone of a mount is cheaper than a new tmpfs or another checked /dev/null.
struct MaskSources {
  int empty_dir = -1;  // the first masked directory's tmpfs, mounted
  int dev_null = -1;   // the container's /dev/null, checked
  MaskSources() = default;
  MaskSources(const MaskSources&) = delete;
  MaskSources& operator=(const MaskSources&) = delete;
  ~MaskSources() {
    if (empty_dir >= 0) ::close(empty_dir);
    if (dev_null >= 0) ::close(dev_null);
  }
};

int attach_clone(int mount_fd, int target, uint64_t attr) noexcept {
  int tree = sys::raw_open_tree(mount_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  int rc = tree < 0 ? -1 : attach_tree(tree, target, attr);
  int saved = errno;
  if (tree >= 0) ::close(tree);
  errno = saved;
  return rc;
}

int mask_directory(int root_fd, const MountOp& op, int target, MaskSources& sources) noexcept {
  if (sources.empty_dir >= 0) return attach_clone(sources.empty_dir, target, 0);
  int rc = mount_at_fd("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "size=4k,nr_inodes=1,mode=0555");
  // Its clones keep these flags: they are the mount's, and a clone copies them.
  if (rc == 0) sources.empty_dir = try_open(root_fd, op.target.c_str(), TargetKind::kDirectory, true);
  return rc;
}

int mask_file(int root_fd, int target, MaskSources& sources) noexcept {
  if (sources.dev_null < 0) sources.dev_null = open_dev_null(root_fd);
  if (sources.dev_null < 0) return -1;
  return attach_clone(sources.dev_null, target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
}

int mask(int root_fd, const MountOp& op, MaskSources& sources) noexcept {
  int target = try_open(root_fd, op.target.c_str(), TargetKind::kFile, true);
  if (target < 0) return errno == ENOENT ? 0 : -1;
  struct stat st;
  int rc = fstat(target, &st);
  if (rc == 0) rc = S_ISDIR(st.st_mode) ? mask_directory(root_fd, op, target, sources) : mask_file(root_fd, target, sources);
  int saved = errno;
  ::close(target);
  errno = saved;
  return rc;
}

int rebind_read_only(int root_fd, const MountOp& op) noexcept {
  int target = try_open(root_fd, op.target.c_str(), TargetKind::kFile, true);
  if (target < 0) return errno == ENOENT ? 0 : -1;
  int tree = sys::raw_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  int rc = tree < 0 ? -1
                    : attach_tree(tree, target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                    MOUNT_ATTR_NOEXEC);
  int saved = errno;
  if (tree >= 0) ::close(tree);
  ::close(target);
  errno = saved;
  return rc;
}

int write_file(int root_fd, const MountOp& op) noexcept {
  open_how how = {};
  how.flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = sys::raw_openat2(root_fd, op.target.c_str(), how);
  if (fd < 0) return -1;
  int err = sys::write_all(fd, op.data.data(), op.data.size());
  ::close(fd);
  errno = err;
  return err == 0 ? 0 : -1;
}

// Mounts the tmpfs over the directory, then fills it from the directory it hides, reached
// through an fd opened before the mount.
int tmpfs_copy_up(int root_fd, const MountOp& op, int target) noexcept {
  int below = openat(target, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (below < 0) return -1;
  struct stat st;
  int rc = fstat(below, &st);
  if (rc == 0) rc = mount_at_fd("tmpfs", target, "tmpfs", op.flags, op.data.c_str());
  int above = rc == 0 ? try_open(root_fd, op.target.c_str(), TargetKind::kDirectory, op.no_symlinks) : -1;
  if (rc == 0 && above < 0) rc = -1;
  if (rc == 0) {
    char path[32];
    sys::proc_fd_path(above, path);
    chmod(path, st.st_mode & 07777);
    chown(path, st.st_uid, st.st_gid);
    rc = copy_tree(below, above);
  }
  int saved = errno;
  ::close(below);
  if (above >= 0) ::close(above);
  errno = saved;
  return rc;
}

int set_propagation(int target_fd, unsigned long propagation) noexcept {
  if (propagation == 0) return 0;
  mount_attr a = {};
  a.propagation = propagation & ~static_cast<unsigned long>(MS_REC);
  return sys::raw_mount_setattr(target_fd, "", AT_EMPTY_PATH | ((propagation & MS_REC) ? AT_RECURSIVE : 0), &a);
}

int make_device(int root_fd, const MountOp& op) noexcept {
  char path[PATH_MAX];
  const char* base = nullptr;
  int parent = open_parent(root_fd, op.target, path, &base);
  if (parent < 0) return -1;
  // An image's own node at that path is replaced, as runc and crun do.
  unlinkat(parent, base, 0);
  int rc = mknodat(parent, base, op.mode, static_cast<dev_t>(op.rdev));
  if (rc == 0) rc = fchownat(parent, base, op.uid, op.gid, AT_SYMLINK_NOFOLLOW);
  // mknod applies the umask; the config's mode is exact.
  if (rc == 0) rc = fchmodat(parent, base, op.mode & 07777, 0);
  int saved = errno;
  ::close(parent);
  errno = saved;
  return rc;
}

int run_op(int root_fd, const MountOp& op, int source_fd, int moved_tree_fd, MaskSources& masks) noexcept {
  switch (op.kind) {
    case MountKind::kDevice: return make_device(root_fd, op);
    case MountKind::kSymlink: return make_symlink(root_fd, op);
    case MountKind::kReadOnly: return make_read_only(root_fd, op);
    case MountKind::kMask: return mask(root_fd, op, masks);
    case MountKind::kReadOnlyRebind: return rebind_read_only(root_fd, op);
    case MountKind::kWriteFile: return write_file(root_fd, op);
    default: break;
  }
  if (op.replace_link && replace_link(root_fd, op.target.c_str()) != 0) return -1;
  int target = open_or_create_at(root_fd, op.target.c_str(), op.target_kind, op.no_symlinks);
  if (target < 0) return -1;
  int rc = 0;
  switch (op.kind) {
    case MountKind::kMkdir:
      break;
    case MountKind::kBind: {
      int tree = sys::raw_open_tree(source_fd, "",
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (op.recursive ? AT_RECURSIVE : 0));
      rc = tree < 0 ? -1 : attach_tree(tree, target, op.attr);
      if (tree >= 0) {
        int saved = errno;
        ::close(tree);
        errno = saved;
      }
      if (rc == 0 && op.propagation != 0) {
        int mounted = try_open(root_fd, op.target.c_str(), op.target_kind, op.no_symlinks);
        rc = mounted < 0 ? -1 : set_propagation(mounted, op.propagation);
        int saved = errno;
        if (mounted >= 0) ::close(mounted);
        errno = saved;
      }
      break;
    }
    case MountKind::kFilesystem:
      rc = mount_at_fd(op.source.c_str(), target, op.fstype.c_str(), op.flags, op.data.empty() ? nullptr : op.data.c_str());
      break;
    case MountKind::kPropagation:
      rc = set_propagation(target, op.flags);
      break;
    case MountKind::kMoveTree:
      rc = attach_tree(moved_tree_fd, target, op.attr);
      break;
    case MountKind::kAttachTree:
      errno = EBADF;  // none given: the parent's plan is wrong
      rc = source_fd >= 0 ? attach_tree(source_fd, target, op.attr) : -1;
      break;
    case MountKind::kTmpfs:
      rc = op.copy_up ? tmpfs_copy_up(root_fd, op, target) : mount_at_fd("tmpfs", target, "tmpfs", op.flags, op.data.c_str());
      break;
    case MountKind::kProc:
      rc = mount_at_fd("proc", target, "proc", op.flags, op.data.empty() ? nullptr : op.data.c_str());
      break;
    case MountKind::kSysfs:
      // A sysfs the parent made in a network namespace netd prepared (prepared_network.cc):
      // one the container's user namespace could not mount, showing its own devices.
      rc = source_fd >= 0 ? attach_tree(source_fd, target, 0) : mount_at_fd("sysfs", target, "sysfs", op.flags, nullptr);
      if (rc != 0 && errno == EPERM && source_fd < 0) {
        // A user namespace that does not own the network namespace may not mount sysfs
        // (runc and crun fall back the same way): the host's, bound read-only.
        int tree = sys::raw_open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        rc = tree < 0 ? -1
                      : attach_tree(tree, target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        int saved = errno;
        if (tree >= 0) ::close(tree);
        errno = saved;
      }
      break;
    case MountKind::kDevpts:
      rc = mount_at_fd("devpts", target, "devpts", op.flags, op.data.c_str());
      break;
    case MountKind::kMqueue:
      rc = mount_at_fd("mqueue", target, "mqueue", op.flags, nullptr);
      break;
    case MountKind::kOverlay:
      rc = mount_at_fd("overlay", target, "overlay", op.flags, op.data.c_str());
      break;
    default:
      break;
  }
  int saved = errno;
  ::close(target);
  errno = saved;
  return rc;
}

}  // namespace

int attach_detached_tree(int tree_fd, int root_fd, const MountOp& op) noexcept {
  int target = open_or_create_at(root_fd, op.target.c_str(), TargetKind::kDirectory, op.no_symlinks);
  if (target < 0) return errno;
  int rc = attach_tree(tree_fd, target, 0);
  int err = rc == 0 ? 0 : errno;
  ::close(target);
  return err;
}


int open_bind_sources(const std::vector<MountOp>& ops, std::vector<int>& source_fds,
                      int* failed) noexcept {
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind != MountKind::kBind) continue;
    open_how how = {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = ops[i].follow_source ? 0 : RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = sys::raw_openat2(AT_FDCWD, ops[i].source.c_str(), how);
    if (fd < 0) {
      *failed = static_cast<int>(i);
      return errno;
    }
    source_fds[i] = fd;
  }
  return 0;
}

int execute_mount_ops(int root_fd, std::span<const MountOp> ops, std::span<const int> source_fds,
                      int moved_tree_fd, int* failed) noexcept {
  MaskSources masks;
  for (size_t i = 0; i < ops.size(); ++i) {
    int source = i < source_fds.size() ? source_fds[i] : -1;
    if (run_op(root_fd, ops[i], source, moved_tree_fd, masks) != 0) {
      *failed = static_cast<int>(i);
      return errno;
    }
    if (source >= 0) ::close(source);
  }
  return 0;
}

}  // namespace nucleus::native
