#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/policy/capabilities.h"
#include "core/cgroup/cgroup.h"
#include "core/policy/rlimits.h"
#include "core/policy/seccomp_profile.h"

// What an OCI bundle's config.json says beyond the vocabulary of flags and YAML. A
// WorkloadSpec carries one when it came from a bundle (`nucleus create`): the config is then
// the whole policy (the orchestrator chose the capabilities, the filter and the mounts) and
// nucleus's isolation presets add nothing to it, exactly as crun or runc would run it. The
// parts both vocabularies share (command, cwd, hostname, root, identity, env, limits) stay
// in WorkloadSpec's own fields.
namespace nucleus {

struct OciMount {
  std::string destination;
  std::string type;  // "bind" for binds (also implied by a "bind"/"rbind" option)
  std::string source;
  std::vector<std::string> options;
};

enum class OciNamespace { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup };

struct OciNamespaceEntry {
  OciNamespace type = OciNamespace::kPid;
  std::string path;  // join this namespace; empty: a new one
};

struct OciIdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct OciDevice {
  std::string path;  // inside the container
  char type = 'c';   // c, b, u, p
  int64_t major = 0, minor = 0;
  uint32_t file_mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

// One linux.resources.devices entry: the device cgroup's allow/deny list.
using OciDeviceRule = CgroupDeviceRule;

struct OciHook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout_seconds;
};

struct OciHooks {
  std::vector<OciHook> prestart, create_runtime, create_container, start_container, poststart, poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() && start_container.empty() &&
           poststart.empty() && poststop.empty();
  }
};

struct OciCapabilities {
  CapSet bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// An OCI process object (config.json's "process", or `exec --process FILE`).
struct OciProcess {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  std::optional<OciCapabilities> capabilities;  // absent: none at all
  std::vector<RlimitSetting> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  bool terminal = false;
  uint16_t console_rows = 0, console_columns = 0;
};

struct OciSpec {
  std::string bundle;  // absolute path of the bundle directory
  std::vector<OciMount> mounts;
  std::vector<OciNamespaceEntry> namespaces;
  std::vector<OciIdMapping> uid_mappings, gid_mappings;
  // args, cwd and the user are also the WorkloadSpec's command, workdir and user.
  OciProcess process;
  std::optional<seccomp::Profile> seccomp;  // none: no filter
  std::vector<std::string> masked_paths, readonly_paths;
  std::vector<std::pair<std::string, std::string>> sysctl;
  std::vector<OciDevice> devices;
  std::vector<OciDeviceRule> device_rules;
  std::string domainname;
  OciHooks hooks;
  std::map<std::string, std::string> annotations;
  std::string cgroups_path;  // as written: "/a/b" from the hierarchy's root, "a/b" below ours
  std::string rootfs_propagation;  // "", private, rprivate, slave, rslave, shared, rshared

  // linux.resources the flags have no word for.
  std::optional<int64_t> memory_swap;         // memory + swap, bytes; -1: unlimited
  std::optional<uint64_t> memory_reservation; // soft limit
  std::optional<uint64_t> cpu_shares;
  std::optional<uint64_t> cpu_period_us;
  std::optional<int64_t> cpu_quota_us;        // -1: unlimited
  std::string cpuset_cpus, cpuset_mems;

  bool has(OciNamespace ns) const {
    for (const auto& n : namespaces) {
      if (n.type == ns) return true;
    }
    return false;
  }
  const OciNamespaceEntry* find(OciNamespace ns) const {
    for (const auto& n : namespaces) {
      if (n.type == ns) return &n;
    }
    return nullptr;
  }
};

const char* to_string(OciNamespace ns);

}  // namespace nucleus
