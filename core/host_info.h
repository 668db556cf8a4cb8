#pragma once

#include <optional>
#include <string>

// What this host's kernel offers, probed without side effects. `nucleus check` reports it;
// backends consult it before promising a layer.
namespace nucleus {

enum class CgroupMode { kV1, kV2, kHybrid, kNone };

struct HostInfo {
  std::string kernel_release;
  CgroupMode cgroup_mode = CgroupMode::kNone;
  int landlock_abi = 0;           // 0: not available
  bool user_namespaces = false;   // creatable by this caller (max_user_namespaces > 0)
  bool seccomp_filter = false;
  bool new_mount_api = false;     // open_tree, move_mount, mount_setattr (5.12+)
};

HostInfo probe_host_info();
std::string to_string(CgroupMode mode);

}  // namespace nucleus
