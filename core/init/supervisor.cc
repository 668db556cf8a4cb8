#include "core/init/supervisor.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/init/signals.h"

namespace nucleus::init {
namespace {

// Reaps every exited child; returns true once `main` was among them.
bool reap_children(pid_t main, int* main_status) noexcept {
  bool main_done = false;
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;  // 0: others still run; -1/ECHILD: none left
    if (pid == main) {
      *main_status = status;
      main_done = true;
    }
  }
  return main_done;
}

// The workload's own stack while it shares the supervisor's memory (until its exec).
constexpr size_t kStartStackSize = 256 * 1024;

struct StartArgs {
  StartFn start;
  void* ctx;
  int signal_fd;
};

int start_main(void* p) noexcept {
  const StartArgs& a = *static_cast<const StartArgs*>(p);
  ::close(a.signal_fd);  // its own fd table: the supervisor keeps it
  prepare_signals_for_exec();
  _exit(a.start(a.ctx));
}

}  // namespace

void prepare_signals_for_exec() noexcept {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // fails harmlessly for the numbers libc reserves
  }
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

int exit_code_from_wait_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;  // stopped or continued: not an exit; WEXITED callers never see it
}

int supervise(StartFn start, AfterForkFn after_fork, void* ctx, int* exit_code) noexcept {
  sigset_t watched;
  forwarded_signal_set(&watched);
  sigaddset(&watched, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &watched, nullptr) != 0) return errno;
  int sfd = signalfd(-1, &watched, SFD_CLOEXEC);
  if (sfd < 0) return errno;

  // The workload starts as posix_spawn starts a child: CLONE_VM | CLONE_VFORK on a stack of
  // its own, so no page table is copied and no page faults on copy-on-write; the supervisor
  // sleeps until the workload execs (or fails). No atfork handler runs either: we are only a
  // copy of the process that installed them. `start` must allocate nothing and may change
  // nothing the supervisor reads afterwards (it works on its own copy of what it changes).
  void* stack = mmap(nullptr, kStartStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int saved = errno;
    ::close(sfd);
    return saved;
  }
  StartArgs args{start, ctx, sfd};
  pid_t main = clone(start_main, static_cast<char*>(stack) + kStartStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int clone_errno = errno;
  munmap(stack, kStartStackSize);
  if (main < 0) {
    ::close(sfd);
    return clone_errno;
  }
  if (after_fork != nullptr) after_fork(ctx);

  int main_status = 0;
  for (;;) {
    signalfd_siginfo info;
    ssize_t n = read(sfd, &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) {
      if (n < 0 && errno == EINTR) continue;
      break;  // cannot happen with a valid signalfd; fall through to a blocking reap
    }
    int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGCHLD) {
      if (reap_children(main, &main_status)) {
        ::close(sfd);
        *exit_code = exit_code_from_wait_status(main_status);
        return 0;
      }
      continue;
    }
    kill(main, sig);
  }
  ::close(sfd);
  while (waitpid(main, &main_status, 0) < 0 && errno == EINTR) {
  }
  *exit_code = exit_code_from_wait_status(main_status);
  return 0;
}

}  // namespace nucleus::init
