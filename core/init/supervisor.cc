#include "core/init/supervisor.h"

#include <errno.h>
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

  // A raw fork: glibc's fork() would run atfork handlers of a process we are only a copy of.
  pid_t main = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
  if (main < 0) {
    int saved = errno;
    ::close(sfd);
    return saved;
  }
  if (main == 0) {
    ::close(sfd);
    prepare_signals_for_exec();
    _exit(start(ctx));
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
