#pragma once

#include <sys/types.h>

// An exec's tree, seen from inside the sandbox (the agent's own pid namespace): the exec'd
// process `root`, every process of its session (it leads one), every descendant, and every
// process whose environment carries `marker` (KEY=VALUE: a daemon the command started with
// setsid and a double fork, reparented to PID 1, still has it). libc only.
namespace nucleus::agent {

// One round: SIGKILLs what of the tree is alive now. Never PID 1 nor the agent itself.
// Returns how many signals were sent; the caller repeats it (a few milliseconds apart,
// kKillRoundMs) until a round finds none: a process forked during a round is found in the
// next (it carries the marker or descends from one that does).
unsigned kill_exec_tree_round(pid_t root, const char* marker) noexcept;

inline constexpr int kKillRoundMs = 2;
inline constexpr int kMaxKillRounds = 100;

}  // namespace nucleus::agent
