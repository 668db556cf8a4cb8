#include "core/keeper.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "core/error.h"
#include "core/quiet_syscall.h"
#include "core/unique_fd.h"

namespace nucleus {
namespace {

constexpr size_t kStackSize = 64 * 1024;

struct KeeperArgs {
  pid_t parent;
  int null_fd;
  char* const* argv;
};

// The keeper's life until exec. Every signal is blocked from before it exists (^C and the
// signals nucleus forwards are not its business); the death signal is taken synchronously.
int keep(void* arg) noexcept {
  const KeeperArgs& a = *static_cast<const KeeperArgs*>(arg);
  // stdio on /dev/null, and no other fd of nucleus's: a pipe's reader must see EOF when
  // nucleus ends, and a lock must go with nucleus.
  for (int fd = 0; fd <= 2; ++fd) sys::quiet_syscall(SYS_dup3, a.null_fd, fd, 0);
  sys::quiet_syscall(SYS_close_range, 3, ~0U, 0);
  if (sys::quiet_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGUSR2) != 0) sys::quiet_syscall(SYS_exit, 1);
  sigset_t death;
  sigemptyset(&death);
  sigaddset(&death, SIGUSR2);
  // Only nucleus's death ends the wait: a stray SIGUSR2 from elsewhere does not.
  while (sys::quiet_syscall(SYS_getppid) == a.parent) {
    sys::quiet_syscall(SYS_rt_sigtimedwait, reinterpret_cast<long>(&death), 0, 0, _NSIG / 8);
  }
  // nucleus is gone: its memory is ours alone now, so libc may be used again.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv("/proc/self/exe", a.argv);
  ::_exit(127);
}

}  // namespace

CleanupKeeper::CleanupKeeper(const CleanupTargets& targets) {
  words_ = {"nucleus", "internal-cleanup"};
  if (!targets.gvisor_state.empty()) words_.insert(words_.end(), {"--gvisor-state", targets.gvisor_state});
  for (const std::string& dir : targets.cgroups) words_.insert(words_.end(), {"--cgroup", dir});
  if (!targets.record.empty()) words_.insert(words_.end(), {"--record", targets.record});
  for (std::string& w : words_) argv_.push_back(w.data());
  argv_.push_back(nullptr);

  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) throw_errno("open /dev/null for the cleanup keeper");
  stack_ = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack_ == MAP_FAILED) {
    stack_ = nullptr;
    throw_errno("map the cleanup keeper's stack");
  }
  // On the keeper's own stack, so that it outlives this frame (the keeper reads it at its
  // own pace); null_fd is the keeper's copy of the descriptor (its fd table is its own).
  auto* args = new (stack_) KeeperArgs{::getpid(), null.get(), argv_.data()};
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
  if (pid_ > 0) {
    // Our own child, not yet reaped: its pid cannot have been reused.
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (stack_ != nullptr) ::munmap(stack_, kStackSize);
}

}  // namespace nucleus
