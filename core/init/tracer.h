#pragma once

#include <sys/types.h>

// nucleus-init as the tracer of every workload task, under gVisor with a runsc whose Sentry
// refuses statx and newfstatat with AT_NO_AUTOMOUNT (EINVAL; coreutils' ls and stat always
// send it, and glibc's fallback to fstatat passes it on, so ENOSYS cannot help). The
// workload's filter stops exactly those calls with SECCOMP_RET_TRACE; the tracer clears the
// flag in the register that carries it, which changes nothing else (the Sentry has no
// automounts), and lets the call go on. Every other stop is passed through unchanged:
// fork/clone events, new tasks, signals (delivered as they arrived), group-stops (kept with
// PTRACE_LISTEN, so job control still works). Only registers are changed, never the
// tracee's memory, so there is nothing for another thread to race.
//
// The workload cannot escape it: PTRACE_O_TRACEFORK/VFORK/CLONE attach every new task
// before it runs, ptrace(2) is refused to the workload, and PTRACE_O_EXITKILL ends every
// tracee with nucleus-init. libc only: part of nucleus-init.
namespace nucleus::init {

// Attaches to `pid` (PTRACE_SEIZE) with the options above. Returns 0 or an errno.
int seize_workload(pid_t pid) noexcept;

// Handles one ptrace stop reported by waitpid (WIFSTOPPED(status)) and resumes the task.
void resume_traced(pid_t pid, int status) noexcept;

}  // namespace nucleus::init
