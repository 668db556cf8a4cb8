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

// Links followed to reach a missing mount point before giving up (ELOOP).
constexpr int kMaxLinks = 8;

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

// path's last component is a symlink: path becomes where it leads, beneath the root (an
// absolute text from the root, a relative one from the link's directory; openat2 resolves
// any "..", never above the root). -1 with errno ENOENT when it is no symlink.
int follow_last_link(int root_fd, char (&path)[PATH_MAX]) noexcept {
  char* slash = strrchr(path, '/');
  const char* base = path;
  int parent = root_fd;
  if (slash != nullptr) {
    *slash = '\0';
    parent = try_open(root_fd, path, TargetKind::kDirectory, false);
    *slash = '/';
    base = slash + 1;
    if (parent < 0) return -1;
  }
  char link[PATH_MAX];
  ssize_t n = readlinkat(parent, base, link, sizeof link - 1);
  int saved = errno;
  if (parent != root_fd) ::close(parent);
  if (n <= 0) {
    errno = n < 0 && saved != EINVAL ? saved : ENOENT;  // EINVAL: not a link; the entry is missing
    return -1;
  }
  const char* text = link;
  size_t len = static_cast<size_t>(n);
  if (text[0] == '/') {
    while (len > 0 && *text == '/') ++text, --len;
    return copy_path(path, text, len);
  }
  const size_t dir = slash != nullptr ? static_cast<size_t>(slash - path) + 1 : 0;  // with its '/'
  if (dir + len >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(path + dir, text, len);
  path[dir + len] = '\0';
  return 0;
}

}  // namespace

int try_open(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept {
  open_how how = {};
  how.flags = O_PATH | O_CLOEXEC | (kind == TargetKind::kDirectory ? O_DIRECTORY : 0);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  return sys::raw_openat2(root_fd, rel[0] == '\0' ? "." : rel, how);
}

int open_or_create_at(int root_fd, const char* rel, TargetKind kind, bool no_symlinks) noexcept {
  char path[PATH_MAX];
  if (copy_path(path, rel, strlen(rel)) != 0) return -1;
  for (int links = 0;; ++links) {
    int fd = try_open(root_fd, path, kind, no_symlinks);
    if (fd >= 0 || errno != ENOENT) return fd;
    if (create_with_parents(root_fd, path, kind, no_symlinks) != 0) return -1;
    fd = try_open(root_fd, path, kind, no_symlinks);
    // Still missing once made: the entry is a link whose target is missing.
    if (fd >= 0 || errno != ENOENT || no_symlinks) return fd;
    if (links == kMaxLinks) {
      errno = ELOOP;
      return -1;
    }
    if (follow_last_link(root_fd, path) != 0) return -1;
  }
}

}  // namespace nucleus::native
