#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/isolation_level.h"
#include "config/network_spec.h"
#include "core/cgroup/cgroup.h"
#include "core/policy/capabilities.h"
#include "core/policy/rlimits.h"
#include "core/policy/seccomp_profile.h"

// THE container: what a backend creates, resolved once and typed. Flags and YAML (a
// WorkloadSpec, through config/resolve.h and the isolation presets) and a bundle's
// config.json (config/oci/) both end here; backends read only this and never ask where it
// came from. Everything is final: numeric ids (names were looked up in the container's own
// passwd), the environment after the shared filter (PATH included), capability sets,
// rlimits, the seccomp profile with its conditions resolved, the mounts in the order they
// are made, the namespaces and id mappings, the cgroup limits. The record of a container
// keeps it (config/spec_json.h), so `exec` and the other verbs read what `create` decided.
namespace nucleus {

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup };
const char* to_string(NamespaceType type);

struct NamespaceSpec {
  NamespaceType type = NamespaceType::kPid;
  std::string path;  // join this namespace; empty: a new one
};

// One line of a user namespace's uid_map or gid_map.
struct IdMapping {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 0;
};

// The host id that `inside` (an id in the container) maps to, if `map` maps it.
std::optional<uint32_t> host_id(const std::vector<IdMapping>& map, uint32_t inside);
inline bool is_mapped(const std::vector<IdMapping>& map, uint32_t id) { return host_id(map, id).has_value(); }

struct CapabilitySets {
  CapSet bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  bool operator==(const CapabilitySets&) const = default;
  // Every capability in any of the sets: what the process holds or could come to hold.
  CapSet any() const { return bounding | effective | inheritable | permitted | ambient; }
};

// The container's process, or one `exec` adds.
struct ProcessSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=VALUE", after the shared filter
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  CapabilitySets capabilities;
  std::vector<RlimitSetting> rlimits;
  bool no_new_privileges = true;
  std::optional<int> oom_score_adj;
  bool terminal = false;
  uint16_t console_rows = 0, console_columns = 0;

  // The value of `key` in env, "" when absent.
  std::string env_value(std::string_view key) const;
  // Where the command is looked up: env's PATH, else the default one (runc's and crun's).
  std::string search_path() const;
};

// One entry of the container's mount list, made in list order (a bind's source is a host
// path; options in the OCI vocabulary, checked when the spec was made).
struct MountSpec {
  std::string destination;  // absolute, inside the container
  std::string type;         // bind, tmpfs, proc, sysfs, devpts, mqueue, cgroup, or a filesystem
  std::string source;
  std::vector<std::string> options;
  bool read_only() const;
};

struct DeviceSpec {
  std::string path;  // inside the container
  char type = 'c';   // c, b, u, p
  int64_t major = 0, minor = 0;
  uint32_t file_mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

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

// The ephemeral writable layer's size unless asked (--layer-size, layer_size): a tmpfs, so
// what a workload writes there is memory, charged to the container and bounded.
inline constexpr uint64_t kDefaultLayerSize = 1ull << 30;

struct RootSpec {
  std::string path;  // canonical; empty: the host read-only view
  bool read_only = false;
  // The tmpfs under the root (kNucleus: the writable layer over a rootfs, or the host
  // view's skeleton; kAsWritten: the staging of the config's root).
  uint64_t layer_size = kDefaultLayerSize;
  // What the root holds besides `mounts`:
  //  - kNucleus: nucleus's own layout: fresh /proc and /sys, nucleus's /dev (devices.h), the
  //    masked and read-only paths; a rootfs gets an ephemeral writable layer (overlay on a
  //    tmpfs) unless read_only, so the directory is never modified;
  //  - kAsWritten: nothing: the root is `path` itself (written in place unless read_only)
  //    and every filesystem comes from `mounts`, `devices` and the masked paths as listed,
  //    as runc and crun make an OCI bundle's.
  enum class Layout { kNucleus, kAsWritten } layout = Layout::kNucleus;
};

struct SeccompSpec {
  // none: no filter. Shared: nucleus's default is the binary's own table, never copied.
  std::shared_ptr<const seccomp::Profile> profile;
  seccomp::Conditions conditions;           // who the profile's gated rules are resolved for
  // nucleus's own default profile, which allows every call nucleus makes before the
  // workload's exec: loaded once by the PID-1 supervisor and inherited by the workload.
  // Any other profile is loaded last, right before execve.
  bool nucleus_default = false;
};

struct ContainerSpec {
  BackendKind backend = BackendKind::kNative;
  IsolationLevel isolation = IsolationLevel::kStandard;  // what the layers were resolved from

  ProcessSpec process;
  RootSpec root;
  std::vector<MountSpec> mounts;
  std::vector<NamespaceSpec> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  bool deny_setgroups = false;  // a caller without privilege over the ids: setgroups is denied
  std::string hostname;         // empty: keep the uts namespace's
  std::string domainname;
  NetworkMode network = NetworkMode::kNone;
  // kBridge: what the container's veth on nucleus's bridge gets (network/): its published
  // ports, its egress policy, the subnets, its hostname.
  std::optional<NetworkRequest> bridge;
  std::vector<std::pair<std::string, std::string>> sysctl;
  std::vector<DeviceSpec> devices;  // kAsWritten: beside the runtime-spec's default devices

  // Layers.
  SeccompSpec seccomp;
  bool landlock = false;  // native only
  std::vector<std::string> masked_paths, readonly_paths;
  std::string rootfs_propagation;  // "", private, rprivate, slave, rslave, shared, rshared, ...

  // The cgroup: the limits (with defaults), and where it goes.
  CgroupLimits limits;
  bool limits_requested = false;  // asked for: a host that cannot give them is an error
  std::optional<std::string> cgroup_parent;  // --cgroup-parent: from the hierarchy's root or below ours
  std::string cgroups_path;                  // config.json's linux.cgroupsPath, as written
  bool disable_oom_killer = false;           // linux.resources.memory.disableOOMKiller (gVisor only)

  // Lifecycle.
  bool init = true;  // nucleus's PID-1 supervisor in front of the workload
  bool sd_notify = false;
  std::optional<uint32_t> timeout_seconds;
  GvisorPlatform gvisor_platform = GvisorPlatform::kAuto;

  // What the bundle said that only its tools read.
  std::string bundle;  // absolute; empty when the container came from flags or YAML
  HooksSpec hooks;
  std::map<std::string, std::string> annotations;

  bool has(NamespaceType type) const { return find(type) != nullptr; }
  const NamespaceSpec* find(NamespaceType type) const {
    for (const NamespaceSpec& n : namespaces) {
      if (n.type == type) return &n;
    }
    return nullptr;
  }
  // A new namespace of this type (listed without a path).
  bool creates(NamespaceType type) const {
    const NamespaceSpec* n = find(type);
    return n != nullptr && n->path.empty();
  }
};

}  // namespace nucleus
