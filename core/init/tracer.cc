#include "core/init/tracer.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

namespace nucleus::init {
namespace {

constexpr long kOptions = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                          PTRACE_O_EXITKILL;

// The flags argument of statx (third) and newfstatat (fourth), in the stopped task's registers.
unsigned long long* flags_register(user_regs_struct& regs) noexcept {
#if defined(__x86_64__)
  if (regs.orig_rax == SYS_statx) return &regs.rdx;
  if (regs.orig_rax == SYS_newfstatat) return &regs.r10;
#elif defined(__aarch64__)
  if (regs.regs[8] == SYS_statx) return &regs.regs[2];
  if (regs.regs[8] == SYS_newfstatat) return &regs.regs[3];
#endif
  return nullptr;
}

// A SECCOMP_RET_TRACE stop: only the calls the filter names stop here.
void mend_no_automount(pid_t pid) noexcept {
  user_regs_struct regs;
  iovec io = {&regs, sizeof regs};
  if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io) != 0) return;
  unsigned long long* flags = flags_register(regs);
  if (flags == nullptr || (*flags & AT_NO_AUTOMOUNT) == 0) return;
  *flags &= ~static_cast<unsigned long long>(AT_NO_AUTOMOUNT);
  (void)ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &io);
}

bool is_stop_signal(int sig) noexcept { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

}  // namespace

int seize_workload(pid_t pid) noexcept {
  return ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(kOptions)) == 0 ? 0 : errno;
}

void resume_traced(pid_t pid, int status) noexcept {
  int sig = WSTOPSIG(status);
  int event = (status >> 16) & 0xff;
  switch (event) {
    case PTRACE_EVENT_SECCOMP:
      mend_no_automount(pid);
      break;
    case PTRACE_EVENT_STOP:
      // A group-stop stays stopped until SIGCONT; a new task's first stop (SIGTRAP) goes on.
      if (is_stop_signal(sig)) {
        (void)ptrace(PTRACE_LISTEN, pid, nullptr, nullptr);
        return;
      }
      break;
    case 0:
      // A signal on its way to the task: delivered as it came.
      (void)ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
      return;
    default:  // fork, vfork, clone: the new task is attached already
      break;
  }
  (void)ptrace(PTRACE_CONT, pid, nullptr, nullptr);
}

}  // namespace nucleus::init
