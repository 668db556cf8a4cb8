#include "backends/native/child/mount_target.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

int copy_path(char (&out)[PATH_MAX], const char* text, size_t len) noexcept {
  if (len >= sizeof out) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(out, text, len);
  out[len] = '\0';
  return 0;
}

// Creates the last component of path (a NUL-terminated buffer we may modify).
int create_entry(int root_fd, char* path, TargetKind kind, bool no_symlinks) noexcept {
  char* slash = strrchr(path, '/');
  const char* base = path;
  int parent = -1;
  if (slash != nullptr) {
    *slash = '\0';
    parent = try_open(root_fd, path, TargetKind::kDirectory, no_symlinks);
    *slash = '/';
    base = slash + 1;
  }
  // A top-level entry is made in the root itself (a directory fd already; one name cannot
  // leave it): the staging tmpfs's and most mount points' case.
  const int in = slash != nullptr ? parent : root_fd;
  if (slash != nullptr && parent < 0) return -1;
  int rc = 0;
  if (kind == TargetKind::kDirectory) {
    rc = mkdirat(in, base, 0755);
  } else {
    int fd = openat(in, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
    rc = fd >= 0 ? 0 : -1;
  }
  int saved = errno;
  if (parent >= 0) ::close(parent);
  if (rc != 0 && saved != EEXIST) {
    errno = saved;
    return -1;
  }
  return 0;
}

// Creates rel and, when its parent is missing too, each missing ancestor, top down (mostly
// only the entry itself is missing: a mount point in /dev). An entry that exists already
// (whatever it is) counts as made.
int create_with_parents(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept {
  char path[PATH_MAX];
  if (copy_path(path, rel, strlen(rel)) != 0) return -1;
  if (create_entry(root_fd, path, kind, no_symlinks) == 0) return 0;
  if (errno != ENOENT) return -1;
  for (char* p = strchr(path, '/'); p != nullptr; p = strchr(p + 1, '/')) {
    *p = '\0';
    int dir = try_open(root_fd, path, TargetKind::kDirectory, no_symlinks);
    if (dir >= 0) {
      ::close(dir);
    } else if (errno != ENOENT || create_entry(root_fd, path, TargetKind::kDirectory, no_symlinks) != 0) {
      return -1;
    }
    *p = '/';
  }
  return create_entry(root_fd, path, kind, no_symlinks);
}

}  // namespace

int try_open(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept {
  open_how how = {};
  how.flags = O_PATH | O_CLOEXEC | (kind == TargetKind::kDirectory ? O_DIRECTORY : 0);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  return sys::raw_openat2(root_fd, rel[0] == '\0' ? "." : rel, how);
}

int open_or_create_at(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept {
  int fd = try_open(root_fd, rel, kind, no_symlinks);
  if (fd >= 0 || errno != ENOENT) return fd;
  if (create_with_parents(root_fd, rel, kind, no_symlinks) != 0) return -1;
  // Still ENOENT for a link whose target is missing: refused, as runc 1.2 does, rather than
  // made where it leads (which could be a volume of the host's).
  return try_open(root_fd, rel, kind, no_symlinks);
}

int replace_link(int root_fd, const char* rel) noexcept {
  char path[PATH_MAX];
  if (copy_path(path, rel, strlen(rel)) != 0) return -1;
  char* slash = strrchr(path, '/');
  const char* base = path;
  int parent = root_fd;
  if (slash != nullptr) {
    *slash = '\0';
    parent = try_open(root_fd, path, TargetKind::kDirectory, false);
    if (parent < 0) return errno == ENOENT ? 0 : -1;  // nothing there to replace
    base = slash + 1;
  }
  struct stat st;
  int rc = 0;
  if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) rc = unlinkat(parent, base, 0);
  int saved = errno;
  if (parent != root_fd) ::close(parent);
  errno = saved;
  return rc;
}

}  // namespace nucleus::native
