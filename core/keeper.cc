#include "core/keeper.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace nucleus {
namespace {

// The keeper's life between fork and exec: syscalls only, nothing allocated.
[[noreturn]] void keep(pid_t parent, char* const* argv) {
  // Every signal blocked: ^C and the signals nucleus forwards are not the keeper's business;
  // the death signal is taken with sigwaitinfo.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  // No fd of nucleus's stays open in the keeper: a pipe's reader must see EOF when nucleus
  // ends, and a lock must go with nucleus.
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  if (::prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0) != 0) ::_exit(1);
  if (::getppid() == parent) {
    sigset_t death;
    sigemptyset(&death);
    sigaddset(&death, SIGUSR2);
    while (::sigwaitinfo(&death, nullptr) < 0 && errno == EINTR) {
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv("/proc/self/exe", argv);
  ::_exit(127);
}

}  // namespace

CleanupKeeper::CleanupKeeper(const CleanupTargets& targets) {
  std::vector<std::string> words = {"nucleus", "internal-cleanup"};
  if (!targets.gvisor_state.empty()) words.insert(words.end(), {"--gvisor-state", targets.gvisor_state});
  for (const std::string& dir : targets.cgroups) words.insert(words.end(), {"--cgroup", dir});
  if (!targets.record.empty()) words.insert(words.end(), {"--record", targets.record});
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork the cleanup keeper");
  if (pid == 0) keep(parent, argv.data());
  pid_ = pid;
}

CleanupKeeper::~CleanupKeeper() {
  if (pid_ <= 0) return;
  // Our own child, not yet reaped: its pid cannot have been reused.
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace nucleus
