#pragma once

#include <signal.h>

// The PID-1 supervisor: one implementation for both backends. Native runs it in-process
// as the container's PID 1 right after setting up the root; gVisor runs the static
// `nucleus-init` built from the same code as the sandbox's PID 1. libc only, no
// exceptions, no allocation: native calls it between clone and exec.
namespace nucleus::init {

// Runs in the workload process with an empty signal mask and default dispositions. Until
// it execs it shares the supervisor's memory (CLONE_VM | CLONE_VFORK, as posix_spawn): it
// must allocate nothing and change nothing the supervisor reads afterwards. It should exec;
// if it returns, the value is the workload's exit status.
using StartFn = int (*)(void* ctx) noexcept;

// Runs in the supervisor right after the fork, before it waits: where PID 1 gives up what
// only the workload's set-up needed (native closes the sync socket, drops its capabilities
// to CAP_KILL and loads the seccomp filter). May be null.
using AfterForkFn = void (*)(void* ctx) noexcept;

// How the workload starts. `trace` (nucleus-init under gVisor, core/init/tracer.h): the
// workload is a plain fork that waits until the supervisor has attached to it
// (PTRACE_SEIZE), and the supervisor resumes every stop of every traced task. The
// supervisor must still be dumpable then (the workload is its copy until the exec, and a
// non-dumpable process cannot be attached): after_fork, which runs once the workload is
// attached and before it may go on, is where it stops being so.
struct Supervision {
  StartFn start = nullptr;
  AfterForkFn after_fork = nullptr;  // may be null
  void* ctx = nullptr;
  bool trace = false;
};

// Starts the workload and supervises it until it exits:
//  - waits on a signalfd for SIGCHLD and kForwardedSignals (blocked, so nothing is lost
//    between fork and wait, and so PID 1 of a pid namespace receives them at all);
//  - forwards each forwarded signal to the workload;
//  - reaps every child, adopted orphans included (no zombies accumulate);
//  - returns once the workload itself is gone: its exit status, or 128+N when signal N
//    killed it. Leftover processes die with the pid namespace when PID 1 exits; outside
//    one (tests, or nucleus-init not being PID 1) they are reparented as usual.
// Returns 0 with *exit_code set, or the errno of the signalfd, fork or attach that failed
// (a workload that could not be attached is killed before it runs anything).
int supervise(const Supervision& how, int* exit_code) noexcept;

inline int supervise(StartFn start, AfterForkFn after_fork, void* ctx, int* exit_code) noexcept {
  return supervise(Supervision{start, after_fork, ctx, false}, exit_code);
}

// What the workload gets before exec: default dispositions for every signal (an ignored
// SIGINT from a background shell must not leak in) and an empty signal mask.
void prepare_signals_for_exec() noexcept;

// The exit code for a wait status: the status itself, or 128+N for signal N.
int exit_code_from_wait_status(int status) noexcept;

}  // namespace nucleus::init
