#pragma once

#include <optional>
#include <string>
#include <vector>

// OCI hooks (runtime-spec config.md "POSIX-platform Hooks"), run by nucleus itself on both
// backends: the same phases, the same timeout, the same words for a failure. runsc is
// never given a config's hooks (it ignores their timeout: a hanging hook hung `create`).
namespace nucleus {

struct HookSpec {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout_seconds;
};

struct HooksSpec {
  std::vector<HookSpec> prestart, create_runtime, create_container, start_container, poststart, poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() && start_container.empty() &&
           poststart.empty() && poststop.empty();
  }
};

// Runs each hook in nucleus's namespaces with the container's state on stdin; a failing
// hook (non-zero exit, death by a signal, or past its timeout, then killed) is an Error
// naming it when `fatal`, else a warning, and the next hook runs.
void run_hooks(const std::vector<HookSpec>& hooks, const char* phase, const std::string& state_json, bool fatal);

// How a hook ended, in words: "exited with code 3", "was killed by signal 9 (KILL)".
std::string describe_hook_status(int wait_status);

}  // namespace nucleus
