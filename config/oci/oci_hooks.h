#pragma once

#include <string>
#include <vector>

#include "config/container_spec.h"

// A config's hooks, run by the runtime as the runtime-spec says, the same on both backends:
// in nucleus's namespaces, the container's state (core/container/container_record.h:
// oci_state_json) on stdin. runsc is never given them (it ignored their timeout: a hanging
// prestart hook hung `create` under gVisor).
namespace nucleus {

// Runs each hook in order; a failing hook (non-zero exit, death by a signal, or past its
// timeout, then killed) is an Error naming it when `fatal` (prestart, createRuntime), else a
// warning (poststart, poststop), and the next hook runs.
void run_hooks(const std::vector<HookSpec>& hooks, const char* phase, const std::string& state_json, bool fatal);

// How a hook ended, in words: "exited with code 3", "was killed by signal 9 (KILL)" (a raw
// wait status, "status 32512", said neither).
std::string describe_hook_status(int wait_status);

}  // namespace nucleus
