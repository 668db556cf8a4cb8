#pragma once

#include <string>
#include <vector>

#include "config/isolation_level.h"

// The runsc command lines nucleus uses: global flags, then the subcommand. Pure, so the
// flags that carry security (--oci-seccomp, --network, no host-uds/fifo widening, no
// --net-raw, the platform) are unit-tested (security-bar GV-03).
namespace nucleus::gvisor {

struct RunscConfig {
  std::string runsc;            // binary
  std::string root;             // --root: runsc's state, private to this container (a pod's: shared)
  int log_fd = -1;              // --log-fd: runsc's own messages, kept off the workload's stderr
  std::string platform = "ptrace";
  NetworkMode network = NetworkMode::kNone;
  // --network=sandbox: the Sentry's netstack on the interfaces of the network namespace the
  // config names by path (a CNI pod's), instead of a namespace of its own with only lo.
  bool sandbox_network = false;
  // runsc applies config.json's linux.seccomp itself: the OCI verbs only (the orchestrator's
  // profile). `nucleus run` leaves it off: nucleus-init loads nucleus's own compiled filter,
  // which this runsc's loader would apply without its argument conditions and errno values.
  bool oci_seccomp = false;
  bool memory_overlay = false;  // --overlay2=root:memory: root writes stay in the Sentry
  std::string debug_log_dir;    // --debug --debug-log=DIR/ when set
  // OCI containers: runsc applies linux.cgroupsPath itself (the orchestrator chose where).
  // `nucleus run` puts runsc in a cgroup of its own below nucleus's, and runsc must not
  // create others (it would, at the hierarchy's root).
  bool manage_cgroups = false;
};

std::vector<std::string> global_args(const RunscConfig& config);
std::vector<std::string> run_args(const RunscConfig& config, const std::string& bundle, const std::string& id);
std::vector<std::string> kill_args(const RunscConfig& config, const std::string& id, int sig);
std::vector<std::string> delete_args(const RunscConfig& config, const std::string& id);

// "auto" resolves to systrap when this runsc has it, else ptrace; kvm only when asked (it
// needs /dev/kvm and hangs under some hypervisors). Throws Error when the asked platform
// is not offered.
std::string choose_platform(GvisorPlatform requested, const std::vector<std::string>& offered);

}  // namespace nucleus::gvisor
