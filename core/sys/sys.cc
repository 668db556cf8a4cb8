#include "core/sys/sys.h"

#include <sys/socket.h>
#include <malloc.h>
#include <link.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>

#include "core/sys/error.h"

namespace nucleus::sys {

int write_all(int fd, const void* buf, size_t len) noexcept {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

int send_with_fds(int sock, const void* data, size_t len, const int* fds, size_t count) noexcept {
  if (count > kMaxPassedFds) return EINVAL;
  iovec iov = {const_cast<void*>(data), len};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  if (count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
  }
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int send_with_fd(int sock, const void* data, size_t len, int fd) noexcept {
  return send_with_fds(sock, data, len, &fd, fd >= 0 ? 1 : 0);
}

ssize_t recv_with_fds(int sock, void* data, size_t len, int* fds, size_t max, size_t* count) noexcept {
  *count = 0;
  iovec iov = {data, len};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * (max < kMaxPassedFds ? max : kMaxPassedFds));
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < got && *count < max; ++i) std::memcpy(&fds[(*count)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {  // more than we have room for: the kernel dropped some
    for (size_t i = 0; i < *count; ++i) ::close(fds[i]);
    *count = 0;
    errno = EMSGSIZE;
    return -1;
  }
  return n;
}

ssize_t recv_with_fd(int sock, void* data, size_t len, int* fd) noexcept {
  size_t count = 0;
  ssize_t n = recv_with_fds(sock, data, len, fd, 1, &count);
  if (count == 0) *fd = -1;
  return n;
}

void proc_fd_path(int fd, char* out) noexcept {
  static constexpr char kPrefix[] = "/proc/self/fd/";
  size_t i = 0;
  for (; kPrefix[i] != '\0'; ++i) out[i] = kPrefix[i];
  char digits[12];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out[i++] = digits[--n];
  out[i] = '\0';
}

namespace {
template <class Options>
UniqueFd mount_detached_with(const char* fstype, const Options& options, unsigned attrs) noexcept {
  UniqueFd fs(raw_fsopen(fstype, FSOPEN_CLOEXEC));
  if (!fs) return {};
  for (const auto& [key, value] : options) {
    if (raw_fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) != 0) return {};
  }
  if (raw_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return {};
  return UniqueFd(raw_fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
}
}  // namespace

UniqueFd mount_detached(const char* fstype, std::initializer_list<std::pair<std::string, std::string>> options,
                        unsigned attrs) noexcept {
  return mount_detached_with(fstype, options, attrs);
}

UniqueFd mount_detached(const char* fstype, const std::vector<std::pair<std::string, std::string>>& options,
                        unsigned attrs) noexcept {
  return mount_detached_with(fstype, options, attrs);
}

UniqueFd open(const std::string& path, int flags, const std::string& step, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw_errno(step, path);
  return UniqueFd(fd);
}

UniqueFd openat(int dirfd, const std::string& path, int flags, const std::string& step,
                mode_t mode) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw_errno(step, path);
  return UniqueFd(fd);
}

namespace {
std::string read_fd(int fd, size_t max_bytes, const std::string& step, const std::string& path) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(step, path);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      throw Error(step, path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}
}  // namespace

std::string read_file(const std::string& path, size_t max_bytes, const std::string& step) {
  std::optional<std::string> text = read_file_if_present(path, max_bytes, step);
  if (!text) throw Error(step, path, ENOENT);
  return std::move(*text);
}

std::optional<std::string> read_file_if_present(const std::string& path, size_t max_bytes, const std::string& step) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores the flag.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::nullopt;
  if (fd < 0) throw_errno(step, path);
  UniqueFd file(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_errno(step, path);
  if (!S_ISREG(st.st_mode)) throw Error(step, path + " is not a regular file");
  return read_fd(fd, max_bytes, step, path);
}

std::string read_file_in_root(int root_fd, const std::string& relpath, size_t max_bytes,
                              const std::string& step) {
  // O_PATH first: a container's FIFO or device node at that path is never opened (a FIFO
  // would block, a device's open act outside the container's device cgroup).
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int path_fd = raw_openat2(root_fd, relpath.c_str(), how);
  if (path_fd < 0) throw_errno(step, relpath);
  UniqueFd at(path_fd);
  struct stat st;
  if (::fstat(path_fd, &st) != 0) throw_errno(step, relpath);
  if (!S_ISREG(st.st_mode)) throw Error(step, relpath + " is not a regular file");
  char self[64];
  std::snprintf(self, sizeof self, "/proc/self/fd/%d", path_fd);
  UniqueFd fd = open(self, O_RDONLY | O_NOCTTY, step);
  return read_fd(fd.get(), max_bytes, step, relpath);
}

void write_file(const std::string& path, std::string_view content, const std::string& step) {
  UniqueFd fd = open(path, O_WRONLY | O_NOFOLLOW, step);
  if (int err = write_all(fd.get(), content.data(), content.size()); err != 0) {
    throw Error(step, path, err);
  }
}

void replace_file(const std::string& path, std::string_view content, const std::string& step, mode_t mode) {
  // A name of nucleus's own beside it: the directory may be the caller's (--pid-file).
  const std::string tmp = path + ".nucleus-tmp";
  create_file(tmp, content, mode, step);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(step, path, err);
  }
}

void create_file(const std::string& path, std::string_view content, mode_t mode, const std::string& step) {
  UniqueFd fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, step, mode);
  if (int err = write_all(fd.get(), content.data(), content.size()); err != 0) {
    throw Error(step, path, err);
  }
}

void overwrite_file(const std::string& path, std::string_view content, mode_t mode, const std::string& step) {
  // Non-blocking, then checked: a FIFO planted at the name must not hang the caller.
  UniqueFd fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, step, mode);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno(step, path);
  if (!S_ISREG(st.st_mode)) throw Error(step, path + " is not a regular file");
  if (int err = write_all(fd.get(), content.data(), content.size()); err != 0) throw Error(step, path, err);
  if (::ftruncate(fd.get(), static_cast<off_t>(content.size())) != 0) throw_errno(step, path);
}

std::pair<UniqueFd, UniqueFd> socketpair(int type, const std::string& step) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0) throw_errno(step);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::pair<UniqueFd, UniqueFd> pipe(const std::string& step) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(step);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

UniqueFd pidfd_open(pid_t pid, const std::string& step) {
  int fd = raw_pidfd_open(pid);
  if (fd < 0) throw_errno(step, std::to_string(pid));
  return UniqueFd(fd);
}

std::optional<ProcessStat> process_stat(pid_t pid) {
  std::string text;
  try {
    text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096, "read /proc/PID/stat");
  } catch (const Error&) {
    return std::nullopt;
  }
  // The command name may hold spaces and parentheses: fields count from the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  ProcessStat st;
  st.state = text[close + 2];
  size_t pos = close + 2;
  for (int field = 3; field < 22 && pos != std::string::npos; ++field) {
    pos = text.find(' ', pos + 1);
    if (field == 8 && pos != std::string::npos) st.flags = static_cast<unsigned>(std::strtoul(text.c_str() + pos + 1, nullptr, 10));
  }
  if (pos == std::string::npos) return std::nullopt;
  st.start_time = std::strtoull(text.c_str() + pos + 1, nullptr, 10);
  return st;
}

bool is_cgroup2_only_host() noexcept {
  struct statfs fs;
  return ::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

namespace {

struct Range {
  uintptr_t start;
  size_t length;
};

// nucleus's own read-only PT_LOAD segments, page-aligned.
size_t executable_ranges(Range* out, size_t max) noexcept {
  struct Collect {
    Range* out;
    size_t max;
    size_t n;
  } c{out, max, 0};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* p) -> int {
        auto& found = *static_cast<Collect*>(p);
        const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
        for (int i = 0; i < info->dlpi_phnum && found.n < found.max; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0) continue;
          uintptr_t start = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
          uintptr_t end = info->dlpi_addr + ph.p_vaddr + ph.p_memsz;
          found.out[found.n++] = {start, end - start};
        }
        return 1;  // the first entry is the executable itself: only its segments
      },
      &c);
  return c.n;
}

// The [heap] line of /proc/self/maps.
bool heap_range(Range* out) noexcept {
  int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8192];
  size_t len = 0;
  for (ssize_t n; len < sizeof buf - 1 && (n = ::read(fd, buf + len, sizeof buf - 1 - len)) > 0;) len += static_cast<size_t>(n);
  ::close(fd);
  buf[len] = '\0';
  const char* heap = std::strstr(buf, "[heap]");
  if (heap == nullptr) return false;
  const char* line = heap;
  while (line > buf && line[-1] != '\n') --line;
  char* rest = nullptr;
  uintptr_t start = std::strtoull(line, &rest, 16);
  if (rest == nullptr || *rest != '-') return false;
  uintptr_t end = std::strtoull(rest + 1, nullptr, 16);
  if (end <= start) return false;
  *out = {start, end - start};
  return true;
}

// The part of the heap that may go: all of it but, when the main thread's TLS block and
// thread control block sit at its start (a static binary: glibc's __libc_setup_tls takes
// them from brk), the pages up to the end of that block. It holds the stack-protector
// canary, the pointer guard and errno; zeroed, every glibc function would check against a
// canary of 0.
Range releasable_heap(Range heap) noexcept {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t tp = reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
  const uintptr_t end = heap.start + heap.length;
  if (tp < heap.start || tp >= end) return heap;
  // glibc's struct pthread follows the thread pointer: about 2.3 KiB on x86-64.
  constexpr uintptr_t kThreadControlBlock = 4096;
  uintptr_t keep = (tp + kThreadControlBlock + page - 1) & ~(page - 1);
  return keep >= end ? Range{end, 0} : Range{keep, end - keep};
}

}  // namespace

namespace {
std::function<void()>& idle_release() {
  static std::function<void()> release;
  return release;
}
}  // namespace

void drop_at_idle(std::function<void()> release) { idle_release() = std::move(release); }

void give_back_startup_memory() noexcept {
  if (std::function<void()> release = std::exchange(idle_release(), nullptr)) release();
  release_startup_pages(/*including_heap=*/false);
  ::malloc_trim(0);
}

void release_startup_pages(bool including_heap) noexcept {
  // The ranges first: libc's list of loaded objects lives partly on the heap.
  Range code[8];
  size_t n = executable_ranges(code, 8);
  Range heap;
  if (including_heap && heap_range(&heap)) {
    heap = releasable_heap(heap);
    // Gone, and no longer addressable: an allocation or a read of the heap from here on
    // faults at once instead of finding zeros.
    if (heap.length > 0 && ::madvise(reinterpret_cast<void*>(heap.start), heap.length, MADV_DONTNEED) == 0) {
      (void)::mprotect(reinterpret_cast<void*>(heap.start), heap.length, PROT_NONE);
    }
  }
  // Last: this also drops the code that ran just above.
  for (size_t i = 0; i < n; ++i) ::madvise(reinterpret_cast<void*>(code[i].start), code[i].length, MADV_DONTNEED);
}

}  // namespace nucleus::sys
