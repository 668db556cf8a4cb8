#include "core/init/supervisor.h"

#include "core/init/clone_on_stack.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/init/signals.h"
#include "core/init/tracer.h"

namespace nucleus::init {
namespace {

// Reaps every exited child; returns true once `main` was among them. Traced, it also sees
// every traced task's stops (__WALL: threads too) and resumes them.
bool reap_children(pid_t main, int* main_status, bool traced) noexcept {
  bool main_done = false;
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG | (traced ? __WALL : 0));
    if (pid <= 0) break;  // 0: others still run; -1/ECHILD: none left
    if (WIFSTOPPED(status)) {
      resume_traced(pid, status);
      continue;
    }
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
  int gate[2];  // traced: the workload waits for EOF on gate[0] until it is seized
};

int start_main(void* p) noexcept {
  const StartArgs& a = *static_cast<const StartArgs*>(p);
  ::close(a.signal_fd);  // its own fd table: the supervisor keeps it
  if (a.gate[0] >= 0) {
    ::close(a.gate[1]);
    char byte;
    while (read(a.gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::close(a.gate[0]);
  }
  prepare_signals_for_exec();
  _exit(a.start(a.ctx));
}

// Traced: the workload was started as a plain fork and waits on the gate; attach to it. A
// workload that cannot be attached is killed while it still waits: it never runs untraced.
int seize_at_the_gate(pid_t main, int gate[2]) noexcept {
  ::close(gate[0]);
  int err = seize_workload(main);
  if (err != 0) {
    kill(main, SIGKILL);
    ::close(gate[1]);
    int status;
    while (waitpid(main, &status, __WALL) < 0 && errno == EINTR) {
    }
  }
  return err;
}

// The last resort when the signalfd fails: wait for the workload itself.
int wait_for_main(pid_t main, bool traced) noexcept {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(main, &status, traced ? __WALL : 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid == main && WIFSTOPPED(status)) {
      resume_traced(pid, status);
      continue;
    }
    return status;
  }
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

int supervise(const Supervision& how, int* exit_code) noexcept {
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
  // Traced, it is a plain fork instead: the supervisor must attach before the workload execs.
  StartArgs args{how.start, how.ctx, sfd, {-1, -1}};
  if (how.trace && pipe2(args.gate, O_CLOEXEC) != 0) {
    int saved = errno;
    ::close(sfd);
    return saved;
  }
  pid_t main = clone_on_stack(start_main, &args, how.trace ? SIGCHLD : CLONE_VM | CLONE_VFORK | SIGCHLD, kStartStackSize);
  int start_errno = main < 0 ? -main : 0;
  if (main < 0) {
    for (int fd : args.gate) {
      if (fd >= 0) ::close(fd);
    }
  } else if (how.trace) {
    start_errno = seize_at_the_gate(main, args.gate);
  }
  if (main < 0 || start_errno != 0) {
    ::close(sfd);
    return start_errno;
  }
  // Traced, the supervisor locks itself down before the gate opens, so no workload code ever
  // runs next to a supervisor that could still be read (it had to be dumpable until now).
  if (how.after_fork != nullptr) how.after_fork(how.ctx);
  if (how.trace) ::close(args.gate[1]);

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
      if (reap_children(main, &main_status, how.trace)) {
        ::close(sfd);
        *exit_code = exit_code_from_wait_status(main_status);
        return 0;
      }
      continue;
    }
    kill(main, sig);
  }
  ::close(sfd);
  *exit_code = exit_code_from_wait_status(wait_for_main(main, how.trace));
  return 0;
}

}  // namespace nucleus::init
