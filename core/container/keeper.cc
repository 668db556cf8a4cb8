#include "core/container/keeper.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <linux/types.h>

#include <cerrno>
#include <new>

#include "core/service/events.h"
#include "core/sys/error.h"
#include "core/sys/quiet_syscall.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"

namespace nucleus {
namespace {

constexpr size_t kStackSize = 64 * 1024;

struct KeeperArgs {
  pid_t parent;
  int null_fd;
  int dismissal_fd;  // the keeper's end of the socket nucleus dismisses it through
  char* const* argv;
};

constexpr int kDismissalFd = 3;
constexpr size_t kMaxDismissal = 4096;

// A directory's entries (files only: a record's lock, state and spec), then the directory.
void remove_flat_directory(const char* path) noexcept {
  long dir = sys::quiet_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dir < 0) return;
  alignas(8) char buf[1024];
  for (;;) {
    long got = sys::quiet_syscall(SYS_getdents64, dir, reinterpret_cast<long>(buf), sizeof buf);
    if (got <= 0) break;
    for (long off = 0; off < got;) {
      auto* e = reinterpret_cast<struct dirent64*>(buf + off);
      off += e->d_reclen;
      if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
      sys::quiet_syscall(SYS_unlinkat, dir, reinterpret_cast<long>(e->d_name), 0);
    }
  }
  sys::quiet_syscall(SYS_close, dir);
  sys::quiet_syscall(SYS_rmdir, reinterpret_cast<long>(path));
}

// The dismissal's payload: NUL-terminated entries, "c<dir>" an empty cgroup directory,
// "r<dir>" a record set aside, "f<path>" the events file the "l<lines>" that follow go to.
void remove_what_is_left(char* payload, size_t size) noexcept {
  const char* events = nullptr;
  payload[size < kMaxDismissal - 1 ? size : kMaxDismissal - 2] = 0;
  for (size_t at = 0; at < size;) {
    char* entry = payload + at;
    size_t len = 0;
    while (at + len < size && entry[len] != 0) ++len;
    at += len + 1;
    if (len < 2) continue;
    if (entry[0] == 'r') remove_flat_directory(entry + 1);
    if (entry[0] == 'f') events = entry + 1;
    if (entry[0] == 'l' && events != nullptr) service::append_events(events, entry + 1, len - 1);
    if (entry[0] == 'c') {
      // Emptied a moment ago: a v1 cgroup may still be busy while its last task exits.
      for (int i = 0; i < 100 && sys::quiet_syscall(SYS_rmdir, reinterpret_cast<long>(entry + 1)) == -EBUSY; ++i) {
        timespec pause = {0, 1000000};
        sys::quiet_syscall(SYS_nanosleep, reinterpret_cast<long>(&pause), 0);
      }
    }
  }
}

// The keeper's life until it exits or execs. Every signal is blocked from before it exists
// (^C and the signals nucleus forwards are not its business); the death signal is taken
// synchronously.
int keep(void* arg) noexcept {
  const KeeperArgs& a = *static_cast<const KeeperArgs*>(arg);
  // stdio on /dev/null, the dismissal socket at 3, and no other fd of nucleus's: a pipe's
  // reader must see EOF when nucleus ends, and a lock must go with nucleus.
  for (int fd = 0; fd <= 2; ++fd) sys::quiet_syscall(SYS_dup3, a.null_fd, fd, 0);
  if (a.dismissal_fd != kDismissalFd) sys::quiet_syscall(SYS_dup3, a.dismissal_fd, kDismissalFd, O_CLOEXEC);
  sys::quiet_syscall(SYS_close_range, kDismissalFd + 1, ~0U, 0);
  sys::quiet_syscall(SYS_prctl, PR_SET_NAME, reinterpret_cast<long>("nucleus-keeper"));
  if (sys::quiet_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGUSR2) != 0) sys::quiet_syscall(SYS_exit, 1);
  sigset_t death;
  sigemptyset(&death);
  sigaddset(&death, SIGUSR2);
  // Only nucleus's death ends the wait: a stray SIGUSR2 from elsewhere does not.
  while (sys::quiet_syscall(SYS_getppid) == a.parent) {
    sys::quiet_syscall(SYS_rt_sigtimedwait, reinterpret_cast<long>(&death), 0, 0, _NSIG / 8);
  }
  // Dismissed: nucleus cleaned up after itself, or left us what is left of a container that
  // has ended (its empty cgroup directories, its record set aside), to remove once nucleus
  // has returned the exit status. What it entrusted to us travels with the message, which
  // read() takes without its descriptors: they are closed here. (The socket is non-blocking:
  // no message, no dismissal.)
  char message[kMaxDismissal];
  long n = sys::quiet_syscall(SYS_read, kDismissalFd, reinterpret_cast<long>(message), sizeof message);
  if (n >= 1) {
    remove_what_is_left(message + 1, static_cast<size_t>(n - 1));
    sys::quiet_syscall(SYS_exit_group, 0);
  }
  // nucleus died without dismissing us: its memory is ours alone now, so libc may be used
  // again.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv("/proc/self/exe", a.argv);
  ::_exit(127);
}

}  // namespace

void CleanupKeeper::leave_behind(const std::vector<std::string>& cgroup_dirs, const std::string& record_aside) {
  std::string entries;
  for (const std::string& dir : cgroup_dirs) entries += "c" + dir + '\0';
  if (!record_aside.empty()) entries += "r" + record_aside + '\0';
  if (left_over_.size() + entries.size() + 1 >= kMaxDismissal) throw Error("leave the container's remains to the keeper", "too long");
  left_over_ += entries;
}

void CleanupKeeper::leave_events(const std::string& path, const std::string& lines) {
  std::string entries = "f" + path + '\0' + "l" + lines + '\0';
  if (left_over_.size() + entries.size() + 1 >= kMaxDismissal) throw Error("leave the container's events to the keeper", "too long");
  left_over_ += entries;
}

CleanupKeeper::CleanupKeeper(const CleanupTargets& targets) {
  words_ = {"nucleus", "internal-cleanup"};
  for (const std::string& dir : targets.cgroups) words_.insert(words_.end(), {"--cgroup", dir});
  if (!targets.record.empty()) words_.insert(words_.end(), {"--record", targets.record});
  for (std::string& w : words_) argv_.push_back(w.data());
  argv_.push_back(nullptr);

  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) throw_errno("open /dev/null for the cleanup keeper");
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ends) != 0) throw_errno("create the cleanup keeper's socket");
  dismissal_.reset(ends[0]);
  UniqueFd keeper_end(ends[1]);
  // Above stdio, which the keeper points at /dev/null first (nucleus may run without stdin).
  if (keeper_end.get() <= 2) keeper_end.reset(::fcntl(keeper_end.get(), F_DUPFD_CLOEXEC, 3));
  if (!keeper_end) throw_errno("create the cleanup keeper's socket");
  stack_ = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack_ == MAP_FAILED) {
    stack_ = nullptr;
    throw_errno("map the cleanup keeper's stack");
  }
  // On the keeper's own stack, so that it outlives this frame (the keeper reads it at its
  // own pace); the fds are the keeper's copies (its fd table is its own).
  auto* args = new (stack_) KeeperArgs{::getpid(), null.get(), keeper_end.get(), argv_.data()};
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  int flags = SIGCHLD | (sys::kQuietSyscalls ? CLONE_VM : 0);
  pid_t pid = ::clone(keep, static_cast<char*>(stack_) + kStackSize, flags, args);
  int err = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    ::munmap(stack_, kStackSize);
    stack_ = nullptr;
    throw Error("fork the cleanup keeper", "", err);
  }
  pid_ = pid;
}

CleanupKeeper::~CleanupKeeper() {
  if (pid_ <= 0) return;
  // The usual way: the keeper reads this once we have exited, and exits itself; its stack
  // stays mapped for it (with CLONE_VM it is in our memory) and goes with the last of us.
  std::string message = "d" + left_over_;
  if (message.size() < kMaxDismissal && sys::send_with_fd(dismissal_.get(), message.data(), message.size(), entrusted_.get()) == 0) {
    return;
  }
  // Our own child, not yet reaped: its pid cannot have been reused.
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  ::munmap(stack_, kStackSize);
}

}  // namespace nucleus
