#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "config/network_spec.h"
#include "core/sys/unique_fd.h"
#include "network/ipam/lease_store.h"

// User-mode networking for callers without root (issue 16, point 5): pasta (Debian passt)
// gives the container's network namespace a tap interface whose traffic it carries through
// its own sockets in the caller's namespace, and forwards the published ports. Nothing of
// the host's network is configured, so nothing needs root; and for the same reason no
// egress rule can be enforced: the container's connections are pasta's, made with the
// caller's rights. Egress rules (and untrusted's default deny) are refused with a clear
// error rather than silently not applied (docs/networking.md, "Non-root callers").
namespace nucleus::net {

struct UserModeOptions {
  std::string pasta = "/usr/bin/pasta";
  // Where the pasta process is recorded for cleanup_user_mode_network (a directory the
  // caller owns: $XDG_RUNTIME_DIR/nucleus/network for a non-root caller).
  std::string state_dir;
  // pasta refuses to run as root unless told which user to run as; a root caller (tests)
  // keeps root inside the container's user namespace.
  bool caller_is_root = false;
};

// Refuses what pasta cannot do: egress rules, default deny. Throws Error (125).
void check_user_mode_request(const NetworkRequest& request);

// The fds pasta finds the container's namespaces at (opened by nucleus, see attach).
constexpr int kPastaNetnsFd = 3;
constexpr int kPastaUsernsFd = 4;

// pasta's command line for a container whose network namespace is open at kPastaNetnsFd (and
// its user namespace at kPastaUsernsFd, when it has one of its own): the namespace configured
// like the host's uplink, the published ports and nothing else forwarded (no automatic
// forwarding of the host's ports, none from the container to the host's loopback, the
// gateway not mapped to the host).
std::vector<std::string> pasta_arguments(const NetworkRequest& request, const UserModeOptions& options,
                                         const std::string& pid_file, bool joins_user_namespace);

class UserModeNetwork {
 public:
  // After the container's user and network namespaces exist, before the workload runs.
  // Returns once pasta has configured the namespace (its foreground process exited 0).
  static UserModeNetwork attach(const NetworkRequest& request, pid_t container_pid, const std::string& container_id,
                                const UserModeOptions& options);
  UserModeNetwork() = default;
  ~UserModeNetwork();
  UserModeNetwork(UserModeNetwork&&) noexcept = default;
  UserModeNetwork& operator=(UserModeNetwork&&) noexcept = delete;
  UserModeNetwork(const UserModeNetwork&) = delete;
  UserModeNetwork& operator=(const UserModeNetwork&) = delete;

  pid_t pasta_pid() const { return pasta_.pid; }
  // Stops pasta (SIGTERM, SIGKILL after 5 s) and forgets its record.
  void release();
  // Leaves pasta running for a container that outlives this process: pasta quits when the
  // namespace's last process is gone; its record stays for cleanup_user_mode_network.
  void detach() { pidfd_.reset(); }

 private:
  LeaseOwner pasta_;
  UniqueFd pidfd_;
  std::string record_;
};

// After a kill -9 of nucleus: stops the recorded pasta if it is still the same process.
void cleanup_user_mode_network(const std::string& container_id, const std::string& state_dir);

}  // namespace nucleus::net
