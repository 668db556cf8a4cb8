#pragma once

#include <cstdint>
#include <string>
#include <vector>

// Landlock under `standard`: the workload may read and execute anywhere in its view, but
// write only where the design means writes to go: the ephemeral root layer (unless
// --read-only), tmpfs mounts, rw volumes, and the device nodes of /dev. So a wrong mount
// flag still cannot expose /proc, /sys, device creation, read-only volumes or host-view
// binds. The parent decides (plan_landlock); the places are opened beneath the container's
// root once it exists, one rule each (build_landlock_ruleset), and the workload restricts
// itself (apply_landlock).
namespace nucleus::native {

struct LandlockPlan {
  bool enabled = false;
  int abi = 0;
  uint64_t handled = 0;        // every filesystem right this ABI knows: the rest is denied
  uint64_t read = 0;           // granted on "/"
  uint64_t write = 0;          // added beneath each writable place
  uint64_t devices = 0;        // added beneath /dev (write and ioctl on the nodes there)
  uint64_t scoped = 0;         // ABI 6: signals and abstract unix sockets stay inside
  std::vector<std::string> writable;          // absolute paths inside the container
  bool writable_root_layer = false;           // overlay root: every top-level entry, except
  std::vector<std::string> root_excluded;     // these names
};

// The kernel's Landlock ABI, 0 when absent.
int landlock_abi();

struct LandlockInputs {
  bool enabled = false;
  int abi = 0;
  bool writable_root_layer = false;
  std::vector<std::string> tmpfs;          // destinations, /tmp included
  std::vector<std::string> rw_volumes;     // destinations
  std::vector<std::string> ro_volumes;     // destinations
};
LandlockPlan plan_landlock(const LandlockInputs& in);

// The ruleset for the container whose root root_fd is (paths resolved beneath it, as the
// container sees them): its fd, or -errno. Either the child builds it after pivot_root, or,
// under `run`, the parent does while the child gets on with its start, from the root the
// child sends it (handshake.h, "P"): it has nothing else to do then.
int build_landlock_ruleset(const LandlockPlan& plan, int root_fd) noexcept;

// Workload: restricts itself with ruleset (closed here), or with one it builds from its own
// root when ruleset is -1. Returns 0 or an errno.
int apply_landlock(const LandlockPlan& plan, int ruleset) noexcept;

}  // namespace nucleus::native
