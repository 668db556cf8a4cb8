#include "backends/native/child/copy_tree.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

constexpr int kCopyDepth = 8;

int copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st) noexcept {
  int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return -1;
  int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
  int rc = out < 0 ? -1 : 0;
  char buf[4096];
  while (rc == 0) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = n < 0 ? -1 : 0;
      break;
    }
    if (sys::write_all(out, buf, static_cast<size_t>(n)) != 0) rc = -1;
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
  if (rc == 0) rc = fchown(out, st.st_uid, st.st_gid);
  int saved = errno;
  ::close(in);
  if (out >= 0) ::close(out);
  errno = saved;
  return rc;
}

int copy_level(int src, int dst, int depth) noexcept {
  if (depth > kCopyDepth) return 0;
  int reader = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (reader < 0) return -1;
  alignas(8) char buf[4096];
  int rc = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, reader, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0) rc = -1;
      break;
    }
    for (long off = 0; off < n && rc == 0;) {
      struct Entry {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      const Entry* e = reinterpret_cast<const Entry*>(buf + off);
      off += e->reclen;
      if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0) continue;
      struct stat st;
      if (fstatat(src, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        if (mkdirat(dst, e->name, st.st_mode & 07777) != 0 && errno != EEXIST) {
          rc = -1;
          break;
        }
        fchownat(dst, e->name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        int s2 = openat(src, e->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int d2 = openat(dst, e->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s2 >= 0 && d2 >= 0) rc = copy_level(s2, d2, depth + 1);
        if (s2 >= 0) ::close(s2);
        if (d2 >= 0) ::close(d2);
      } else if (S_ISREG(st.st_mode)) {
        rc = copy_file(src, dst, e->name, st);
      } else if (S_ISLNK(st.st_mode)) {
        char link[PATH_MAX];
        ssize_t len = readlinkat(src, e->name, link, sizeof link - 1);
        if (len < 0) continue;
        link[len] = '\0';
        if (symlinkat(link, dst, e->name) == 0) fchownat(dst, e->name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
      }
    }
    if (rc != 0) break;
  }
  int saved = errno;
  ::close(reader);
  errno = saved;
  return rc;
}

}  // namespace

int copy_tree(int src_dir, int dst_dir) noexcept { return copy_level(src_dir, dst_dir, 0); }

}  // namespace nucleus::native
