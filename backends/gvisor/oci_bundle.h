#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/container_spec.h"
#include "core/policy/capabilities.h"
#include "core/policy/host_view.h"
#include "core/policy/identity.h"
#include "core/policy/rlimits.h"
#include "core/policy/seccomp_profile.h"

// The OCI bundle runsc runs: config.json written from the same ContainerSpec and the same core
// tables as the native backend (environment filter, identity, capabilities, rlimits, masked
// paths), the seccomp programs nucleus-init loads (init_filters.h: runsc's own --oci-seccomp
// is not used), and, for the host view, a skeleton root directory the view's read-only binds
// land on. make_config is pure (golden-tested); the writers create nothing that follows a
// symlink.
namespace nucleus::gvisor {

// Where the static supervisor appears inside the sandbox (PID 1, named in process.args).
inline constexpr const char* kInitPath = "/dev/.nucleus-init";
// Where the seccomp programs nucleus-init loads appear (init_filters.h), read-only.
inline constexpr const char* kFiltersPath = "/dev/.nucleus-filters";

// nucleus-init's words before the command, up to "--": the filters when the bundle has
// them; `exec` for a process `nucleus exec` adds (core/init/exec_entry.cc).
std::vector<std::string> init_args(bool filters, bool exec);

// The parts of an OCI process object both the bundle's process and an exec's (`runsc exec
// --process`) write: its user, and its five capability sets by name.
nlohmann::json oci_user(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& additional_gids);
nlohmann::json oci_capabilities(const CapabilitySets& sets);

struct BundleSpec {
  std::vector<std::string> command;
  std::vector<std::string> env;  // already filtered
  std::string cwd = "/";
  Identity identity;
  CapSet capabilities = 0;
  bool ambient = false;  // non-root workload keeping added capabilities
  std::vector<RlimitSetting> rlimits;
  std::string hostname;
  NetworkMode network = NetworkMode::kNone;
  std::string netns_path;  // kBridge: the network namespace nucleus attached
  std::string root_path;
  bool root_readonly = true;
  std::vector<HostViewItem> host_view;  // empty with --rootfs
  std::vector<MountSpec> mounts;  // the spec's (/tmp included), in order
  std::vector<std::string> masked_paths, readonly_paths;
  std::string init_source;       // host path of nucleus-init
  std::optional<seccomp::Profile> seccomp;  // resolved; nullopt: --seccomp unconfined
  std::string init_filters;      // host path of the filter file (write_bundle_filters), bound at kFiltersPath
};

nlohmann::json make_config(const BundleSpec& spec);

// Compiles what nucleus-init loads for `spec` under the runsc of `runsc_version` (its gaps:
// runsc_gaps.h) and writes it into bundle_dir; returns the path for BundleSpec::init_filters.
std::string write_bundle_filters(const std::string& bundle_dir, const BundleSpec& spec, const std::string& runsc_version);

// Creates dir/config.json (0600, O_EXCL, O_NOFOLLOW). dir must exist (0700).
void write_config(const std::string& bundle_dir, const nlohmann::json& config);

// The host view's root: the mount points of `view` and the kernel filesystems, the view's
// symlinks, and the workdir, below `root` (a fresh private directory).
void make_skeleton(const std::string& root, const std::vector<HostViewItem>& view, const std::string& workdir);

}  // namespace nucleus::gvisor
