#pragma once

#include <optional>
#include <string>

#include "core/cgroup/self_cgroup.h"

// What this host's kernel offers, probed without side effects. `nucleus check` reports it;
// backends consult it before promising a layer.
namespace nucleus {

struct HostInfo {
  std::string kernel_release;
  CgroupLayout cgroup_layout = CgroupLayout::kNone;  // what the cgroup drivers will use
  int landlock_abi = 0;           // 0: not available
  bool user_namespaces = false;   // creatable by this caller (max_user_namespaces > 0)
  bool seccomp_filter = false;
  bool new_mount_api = false;     // open_tree, move_mount, mount_setattr (5.12+)
};

HostInfo probe_host_info();

// The security modules that apply an OCI config's labels and profiles, enabled here
// (AppArmor: its module parameter says Y; SELinux: selinuxfs is mounted).
struct LsmState {
  bool apparmor = false;
  bool selinux = false;
};
LsmState probe_lsm();

}  // namespace nucleus
