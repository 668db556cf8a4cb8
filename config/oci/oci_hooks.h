#pragma once

#include <string>
#include <vector>

#include "config/container_spec.h"

// A config's hooks, run by the runtime as the runtime-spec says, the same on both backends:
// in nucleus's namespaces, the container's state (core/container/container_record.h:
// oci_state_json) on stdin.
namespace nucleus {

// Runs each hook in order; a failing hook (non-zero, or past its timeout) is an Error naming
// it when `fatal` (prestart, createRuntime), else a warning (poststart, poststop).
void run_hooks(const std::vector<HookSpec>& hooks, const char* phase, const std::string& state_json, bool fatal);

}  // namespace nucleus
