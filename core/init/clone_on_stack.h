#pragma once

#include <stddef.h>
#include <sys/types.h>

namespace nucleus::init {

// clone(2) of fn(arg) on a stack of its own, mapped for the call above an inaccessible guard
// page (an overflow faults instead of writing into the caller's frames) and unmapped when
// clone returns. With CLONE_VM | CLONE_VFORK (as posix_spawn starts a child) the child runs
// in the caller's memory until it execs or exits, and clone returns only then: no page table
// copied, nothing faulted on copy-on-write; without CLONE_VM it is a fork on that stack.
// libc only and nothing allocated: a no-alloc child may call it. The pid, or -errno.
pid_t clone_on_stack(int (*fn)(void*), void* arg, int flags, size_t stack_size) noexcept;

}  // namespace nucleus::init
