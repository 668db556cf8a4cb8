#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/isolation_level.h"
#include "config/network_spec.h"
#include "config/service_spec.h"

// What the user asked for with flags and YAML: plain data, no I/O. An absent optional means
// "not said": the isolation preset decides. config/resolve.h turns it into THE container
// spec (config/container_spec.h), which is all a backend reads.
namespace nucleus {

struct VolumeSpec {
  std::string source;       // absolute host path
  std::string destination;  // absolute path inside the container
  bool read_only = false;
};

struct TmpfsSpec {
  std::string destination;
  uint64_t size_bytes = 0;
};

struct ResourceSpec {
  std::optional<uint64_t> memory_bytes;
  std::optional<double> cpus;
  std::optional<int64_t> pids;  // -1: unlimited ("max"); absent: the default 1024
  std::optional<uint32_t> io_weight;   // 1..10000
  std::vector<std::string> io_max;     // "MAJ:MIN rbps=N wbps=N riops=N wiops=N"
  std::optional<std::string> cgroup_parent;  // path from each hierarchy's root

  // Whether the user asked for a limit (the default pids limit is not asking).
  bool requested() const { return memory_bytes || cpus || pids || io_weight || !io_max.empty() || cgroup_parent; }
};

inline constexpr int64_t kDefaultPidsLimit = 1024;

struct CapabilityChanges {
  std::vector<std::string> add;
  std::vector<std::string> drop;  // may hold "ALL"
};

enum class SeccompMode { kDefault, kUnconfined, kFile };
struct SeccompRequest {
  SeccompMode mode = SeccompMode::kDefault;
  std::string profile_path;  // for kFile
};

inline constexpr uint64_t kDefaultTmpSize = 64ull << 20;  // /tmp 64M

struct WorkloadSpec {
  std::string name;  // container name; empty: nucleus generates one
  IsolationLevel isolation = IsolationLevel::kStandard;
  std::optional<BackendKind> backend;  // overrides the isolation level's backend

  std::vector<std::string> command;
  std::optional<std::string> rootfs;  // absent: the host read-only view
  bool read_only = false;
  std::optional<uint64_t> layer_size;  // the writable layer over the rootfs; absent: kDefaultLayerSize

  std::optional<std::string> user;  // "UID[:GID]" as written; parsed in core/identity
  std::vector<std::string> groups;  // supplementary groups as written
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir = "/";
  std::string hostname = "nucleus";

  ResourceSpec resources;
  NetworkMode network = NetworkMode::kNone;
  // With `bridge`: published ports, the egress allow-list, the subnets (config/network_spec.h).
  NetworkRequest bridge;
  std::vector<VolumeSpec> volumes;
  std::vector<TmpfsSpec> tmpfs;  // /tmp (64M) is added unless listed here

  CapabilityChanges capabilities;
  SeccompRequest seccomp;
  std::optional<bool> landlock;
  bool init = true;
  bool sd_notify = false;
  std::optional<uint32_t> timeout_seconds;
  GvisorPlatform gvisor_platform = GvisorPlatform::kAuto;  // gVisor only
  // Detached (`run -d`): restart, health, readiness, logs, secrets (config/service_spec.h).
  ServiceSpec service;
};

}  // namespace nucleus
