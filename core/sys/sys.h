#pragma once

#include <fcntl.h>
#include <sys/mount.h>  // glibc 2.36 carries mount_attr and the new mount API flags
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/sys/unique_fd.h"

// Small syscall layer. The raw_* functions are async-signal-safe, allocate nothing and
// return -1 with errno set, so the child between clone and exec may call them. The
// checked functions below them throw nucleus::Error naming the step and belong to the
// parent only.
namespace nucleus::sys {

// ---- raw wrappers (child-safe) ---------------------------------------------------------
inline long raw_clone3(clone_args* args) noexcept {
  return ::syscall(SYS_clone3, args, sizeof(*args));
}
inline int raw_pidfd_open(pid_t pid) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
inline int raw_pidfd_send_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}
inline int raw_openat2(int dirfd, const char* path, const open_how& how) noexcept {
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
}
inline int raw_open_tree(int dirfd, const char* path, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}
inline int raw_move_mount(int from_dirfd, const char* from, int to_dirfd, const char* to,
                          unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_move_mount, from_dirfd, from, to_dirfd, to, flags));
}
inline int raw_mount_setattr(int dirfd, const char* path, unsigned flags, mount_attr* attr) noexcept {
  return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof(*attr)));
}
inline int raw_fsopen(const char* fstype, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_fsopen, fstype, flags));
}
inline int raw_fsconfig(int fs_fd, unsigned cmd, const char* key, const char* value, int aux) noexcept {
  return static_cast<int>(::syscall(SYS_fsconfig, fs_fd, cmd, key, value, aux));
}
inline int raw_fsmount(int fs_fd, unsigned flags, unsigned attr_flags) noexcept {
  return static_cast<int>(::syscall(SYS_fsmount, fs_fd, flags, attr_flags));
}
inline int raw_pivot_root(const char* new_root, const char* put_old) noexcept {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}
inline int raw_close_range(unsigned first, unsigned last, unsigned flags) noexcept {
  return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

// Writes all of buf, retrying on EINTR and short writes. Returns 0 or an errno.
int write_all(int fd, const void* buf, size_t len) noexcept;

// Sends len bytes (one datagram on a SOCK_SEQPACKET socket) with fd attached (SCM_RIGHTS;
// -1: none), MSG_NOSIGNAL, retrying on EINTR. Returns 0 or an errno. Child-safe.
int send_with_fd(int sock, const void* data, size_t len, int fd) noexcept;
// The same with up to kMaxPassedFds descriptors.
inline constexpr size_t kMaxPassedFds = 16;
int send_with_fds(int sock, const void* data, size_t len, const int* fds, size_t count) noexcept;
// Receives up to len bytes and the fd attached to them, close-on-exec (*fd = -1 when none),
// retrying on EINTR. Returns the byte count (0 at EOF), or -1 with errno set. Child-safe.
ssize_t recv_with_fd(int sock, void* data, size_t len, int* fd) noexcept;
// The same with up to max (at most kMaxPassedFds) descriptors, *count of them received; a
// message carrying more fails with EMSGSIZE, its descriptors closed.
ssize_t recv_with_fds(int sock, void* data, size_t len, int* fds, size_t max, size_t* count) noexcept;

// Formats "/proc/self/fd/<fd>" into out (at least 32 bytes). Child-safe.
void proc_fd_path(int fd, char* out) noexcept;

// A new filesystem of `fstype`, mounted nowhere (fsopen, each option one fsconfig, fsmount
// with MOUNT_ATTR_* `attrs`): the tree's fd, or an empty one with errno set (parent).
UniqueFd mount_detached(const char* fstype, std::initializer_list<std::pair<std::string, std::string>> options,
                        unsigned attrs) noexcept;
UniqueFd mount_detached(const char* fstype, const std::vector<std::pair<std::string, std::string>>& options,
                        unsigned attrs) noexcept;

// ---- checked wrappers (parent) ---------------------------------------------------------
UniqueFd open(const std::string& path, int flags, const std::string& step, mode_t mode = 0);
UniqueFd openat(int dirfd, const std::string& path, int flags, const std::string& step,
                mode_t mode = 0);
// Reads a regular file of at most max_bytes; a longer file is an error naming the limit,
// and anything else (a FIFO would block forever, a device never end) is refused.
std::string read_file(const std::string& path, size_t max_bytes, const std::string& step);
// The same, or nullopt when nothing is at `path` (ENOENT): for a file whose absence is the
// usual answer, on a path where an exception's unwinding would cost more than the read.
std::optional<std::string> read_file_if_present(const std::string& path, size_t max_bytes, const std::string& step);
// Reads a whole small file beneath dirfd without following symlinks out of it.
std::string read_file_in_root(int root_fd, const std::string& relpath, size_t max_bytes,
                              const std::string& step);
void write_file(const std::string& path, std::string_view content, const std::string& step);
// Creates (or truncates) a regular file with `content`.
void create_file(const std::string& path, std::string_view content, mode_t mode, const std::string& step);
// Writes `content` over a regular file from its start (created when missing) and cuts what
// is left beyond it: no truncation to zero, which ext4 answers with a flush at close
// (auto_da_alloc) that a file rewritten often pays every time.
void overwrite_file(const std::string& path, std::string_view content, mode_t mode, const std::string& step);
// Replaces the file at `path` with `content` (mode) at once: written beside it as
// `path`.nucleus-tmp, then renamed over it, so a reader sees the old file or the new, never
// half; the temporary goes when the rename fails.
void replace_file(const std::string& path, std::string_view content, const std::string& step, mode_t mode = 0600);
std::pair<UniqueFd, UniqueFd> socketpair(int type, const std::string& step);
// A close-on-exec pipe: {read end, write end}.
std::pair<UniqueFd, UniqueFd> pipe(const std::string& step);
UniqueFd pidfd_open(pid_t pid, const std::string& step);

// A process's start time (/proc/PID/stat field 22, clock ticks since boot) and state
// letter (field 3, 'Z' for a zombie); nullopt when there is no such process. A pid with
// the recorded start time is the process that was recorded, not a reuse of its number.
struct ProcessStat {
  char state = '?';
  unsigned flags = 0;  // the kernel's PF_* (field 9): PF_KTHREAD for a kernel thread
  uint64_t start_time = 0;
};
std::optional<ProcessStat> process_stat(pid_t pid);

// Drops this process's page-table entries for nucleus's own read-only segments (code and
// constants): they are reloaded from the page cache if touched again. An idle monitor or
// supervisor touches a few dozen pages of a static binary that start-up walked all of, so
// its PSS falls from megabytes to the pages it still uses (docs/performance.md). Writable
// segments are left alone (MADV_DONTNEED would lose their contents).
//
// including_heap also drops the brk heap ([heap]), but for the main thread's TLS block and
// thread control block when they sit there (static binary), and makes it inaccessible: a
// later allocation or read of it is a SIGSEGV, not zeros. Only for a process that will
// never use the heap again, nor anything on it: the PID-1 supervisor once the workload
// runs (it allocated nothing since the fork, and only waits, forwards and reaps from
// there). Async-signal-safe.
void release_startup_pages(bool including_heap) noexcept;
// What an idle nucleus that keeps its heap gives back: what start-up alone held on the heap
// (drop_at_idle), start-up's code pages, and the heap's free pages (malloc_trim).
void give_back_startup_memory() noexcept;
// Registers what give_back_startup_memory frees first: objects only start-up needed (the
// command line's parser, its option tables and help texts), of which a foreground monitor
// would otherwise keep a hundred KiB of heap for the container's whole life. One at a time.
void drop_at_idle(std::function<void()> release);

// /sys/fs/cgroup is a cgroup2 mount (a v2-only host, where CLONE_INTO_CGROUP applies).
bool is_cgroup2_only_host() noexcept;

}  // namespace nucleus::sys
