#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/workload_spec.h"

// The `run` flags as typed by the user, and the one place they meet YAML: make_spec loads
// the file (when -f is given), lays the flags over it and validates the result.
namespace nucleus::frontend {

// run -d and the service options (config/service_spec.h), as typed.
struct ServiceFlags {
  bool detach = false;
  std::optional<std::string> restart, log_max_size, log_max_files, health_cmd, health_interval, health_timeout,
      health_retries, health_start_period, health_on_failure, sdnotify;
  std::vector<std::string> secrets;
};

struct RunFlags {
  std::optional<std::string> file;  // -f
  std::optional<std::string> backend, isolation, rootfs, user, workdir, hostname, memory, cpus,
      pids, network, seccomp, landlock, name, timeout, gvisor_platform, cgroup_parent, io_weight, subnet, subnet6,
      layer_size;
  bool read_only = false;
  bool init = false;
  bool no_init = false;
  bool sd_notify = false;
  std::vector<std::string> groups, env, volumes, tmpfs, cap_add, cap_drop, io_max, publish, egress, dns, add_host;
  // Everything after the options: COMMAND [ARG...], or with -f: WORKLOAD [-- COMMAND...].
  std::vector<std::string> positionals;
  ServiceFlags service;
};

// Scalar flags replace the file's value; list flags add to it (a volume or tmpfs at a
// destination the file already uses replaces that entry). Throws Error naming the flag.
WorkloadSpec make_spec(const RunFlags& flags);
// nucleus's working directory, against which relative paths of flags and files resolve.
std::string current_dir();

// The service flags laid over the file's `service` keys (frontend/service_overrides.cc),
// and the checks between them (a service option without -d, --sdnotify healthy without a
// health check). Throws Error naming the flag.
void apply_service_flags(const ServiceFlags& flags, ServiceSpec& spec);
void validate_service(const ServiceSpec& spec);

}  // namespace nucleus::frontend
