#pragma once

#include "backends/native/child/child_steps.h"
#include "backends/native/plan/launch_plan.h"
#include "core/sys/exit_codes.h"

// What the child's two files (child.cc: the container's init, step by step; workload.cc:
// the workload's own steps up to its exec) share. Child code: no allocation, no
// exceptions, no output but the last words of die().
namespace nucleus::native::child_internal {

struct Child {
  LaunchPlan* plan;
  int sync_fd;
};

// Reports the failing step to the parent (or, once nobody reads the sync socket, says it on
// the container's stderr) and exits.
[[noreturn]] void die(const Child& c, ChildStep step, int err, int index = -1, int code = exit_code::kRuntimeError) noexcept;

// Closes every fd above stdio but `a` and `b` (either may be -1).
// Closes every fd from `from` up but `a` and `b` (either may be -1).
void close_all_but(int a, int b, unsigned from = 3) noexcept;

// The workload process (workload.cc): under the supervisor (forked, CLONE_VM) or as PID 1
// itself. Never returns.
int start_workload(void* ctx) noexcept;

}  // namespace nucleus::native::child_internal
