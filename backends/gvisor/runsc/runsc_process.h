#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/sys/scoped.h"

// Starting runsc (Boost.Process). runsc run starts in a private mount namespace of its own,
// where nucleus may place the bundle's root: for --rootfs, an overlay whose lower layer is
// the user's directory and whose upper layer is a tmpfs. runsc creates missing mount points
// in its root directory, even a read-only one; with the overlay they land in the tmpfs, and
// the user's directory is never modified. Nothing of it is visible on the host, and it all
// disappears with runsc.
namespace nucleus::gvisor {

struct Staging {
  // The files runsc joins the container's cgroup through before exec (open_self_join_files,
  // join_cgroup_through): its sandbox and gofer are born inside the cgroup, so the limits
  // bind the whole sandbox.
  std::vector<int> cgroup_join;
  bool overlay = false;
  bool hide_root_netns_probe = false;  // --network bridge: see runsc_process.cc
  std::string lower;       // the user's rootfs
  std::string layer;       // empty directory for the tmpfs holding upper/ and work/
  std::string layer_options = "mode=0700";  // that tmpfs's mount data (size=: the layer's bound)
  std::string mountpoint;  // where runsc finds the root (bundle/rootfs)
  // runsc's 0, 1 and 2 in place of nucleus's (the pipes of stdio_relay.h); -1: nucleus's own.
  std::array<int, 3> stdio = {-1, -1, -1};
};

// Starts `runsc args...` in its own process group (terminal signals reach nucleus, which
// forwards them) and its own mount namespace, with an empty signal mask and PDEATHSIG.
// keep_fd stays open in runsc (its --log-fd). Throws Error.
OwnedChild start_runsc(const std::string& runsc, const std::vector<std::string>& args, const Staging& staging,
                       int keep_fd);

// Runs a short runsc command to completion and returns its exit code. With `output`, collects
// what it printed; without, it gets 10 s (then it is killed and the result is -1).
int run_runsc(const std::string& runsc, const std::vector<std::string>& args, std::string* output = nullptr);

// Runs runsc with nucleus's stdio (an OCI create or exec: the container's streams are the
// caller's) and returns its exit code.
int run_runsc_attached(const std::string& runsc, const std::vector<std::string>& args);
// Replaces this process with runsc (stdio and every fd without FD_CLOEXEC go with it);
// returns only by throwing, when the exec fails.
[[noreturn]] void exec_runsc(const std::string& runsc, const std::vector<std::string>& args);

// How `runsc start` runs for an OCI `start`.
struct StartOptions {
  // In a private mount namespace where /proc/sys/net is an empty tmpfs: a runsc that
  // mistakes every network namespace for the host's (runsc_gaps.h) then sets up the
  // sandbox network.
  bool hide_net_sysctls = false;
  // runsc hands a pod member the stdio of its `start` (a root container got them at
  // create): the member's own, kept since create. -1: /dev/null.
  int stdio[3] = {-1, -1, -1};
};
// Runs `runsc args...` (a `start`) to completion; returns its exit code.
int run_runsc_start(const std::string& runsc, const std::vector<std::string>& args, const StartOptions& options);

// runsc's last error, from its JSON log (--log-fd), or "" when it logged none.
std::string last_runsc_error(const std::string& log_path);

// Whether `runsc do true` succeeds on `platform` within timeout_seconds (a kvm platform can
// hang under some hypervisors: the attempt is then killed). For `nucleus check`; slow.
bool platform_works(const std::string& runsc, const std::string& platform, int timeout_seconds, std::string* why);

// Whether this runsc's Sentry refuses statx(AT_NO_AUTOMOUNT): the host's coreutils `stat /`
// in a throwaway sandbox (`runsc do`). nullopt when it cannot tell (no /usr/bin/stat, other
// output). For `nucleus check` (root, on a platform that works); never run at start.
std::optional<bool> sentry_rejects_no_automount(const std::string& runsc, const std::string& platform);

}  // namespace nucleus::gvisor
