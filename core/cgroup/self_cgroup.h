#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Where the cgroup hierarchies are and where this process sits in them, read from
// /proc/self/mountinfo and /proc/self/cgroup. Pure parsers (unit-tested on captured text)
// and one function that reads the real files.
namespace nucleus {

enum class CgroupLayout { kNone, kV1, kV2, kHybrid };

struct CgroupHierarchies {
  CgroupLayout layout = CgroupLayout::kNone;
  std::string v2_mount;                          // cgroup2 mount point, if any
  std::map<std::string, std::string> v1_mounts;  // controller -> mount point ("memory" -> ...;
                                                 // also "name=systemd", which has none)
  std::map<std::string, std::string> v1_own;     // controller -> this process's path ("/a/b")
  std::string v2_own;                            // this process's cgroup2 path
  // Named v1 hierarchies without controllers ("name=systemd" -> its mount point): runsc
  // makes a container's cgroup there too; this process's path in them is in v1_own.
  std::map<std::string, std::string> named_mounts;
};

// v1 controllers live in mounts of type "cgroup" (their super options name them); cgroup2 is
// "cgroup2". Hybrid: v1 controllers plus a cgroup2 mount (often /sys/fs/cgroup/unified).
CgroupHierarchies parse_cgroup_mounts(std::string_view mountinfo);

// Lines "N:controllers:/path" (v1, "name=..." hierarchies ignored) and "0::/path" (v2).
void parse_self_cgroup(std::string_view proc_self_cgroup, CgroupHierarchies& into);

// Both, from /proc/self.
CgroupHierarchies read_cgroup_hierarchies();

std::string to_string(CgroupLayout layout);

}  // namespace nucleus
