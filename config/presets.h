#pragma once

#include <span>
#include <string_view>

#include "config/isolation_level.h"

// THE table of isolation levels (docs/security-model.md explains each column). A preset says
// which layers apply; the spec's explicit options (--cap-add, --seccomp, --landlock) adjust
// it afterwards, and backend_select refuses combinations that would weaken isolation.
namespace nucleus {

enum class UserNamespacePolicy {
  kWhenRootless,  // only when the caller is not root (then it is the only way to isolate)
  kAlways,        // container root is an unprivileged host uid range
};

struct Preset {
  IsolationLevel level;
  BackendKind backend;
  UserNamespacePolicy user_namespace;
  // Capabilities a uid-0 workload keeps; a non-root workload never keeps any.
  std::span<const std::string_view> root_capabilities;
  bool seccomp;        // the default profile (core of issue #3)
  bool landlock;       // native only; gVisor reports it as not applicable
  bool no_new_privs;
  bool masked_paths;   // /proc and /sys masks and read-only paths
};

const Preset& preset_for(IsolationLevel level);

// Docker's default capability set (moby caps/defaults.go), what `trusted` gives uid 0.
std::span<const std::string_view> docker_default_capabilities();

// The uid/gid range container root maps to under UserNamespacePolicy::kAlways when the
// caller is root: host ids [kSubordinateBase, kSubordinateBase + kSubordinateCount).
inline constexpr unsigned kSubordinateBase = 100000;
inline constexpr unsigned kSubordinateCount = 65536;

}  // namespace nucleus
