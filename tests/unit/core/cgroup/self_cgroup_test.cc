// What nucleus reads of the host's cgroups (core/cgroup/self_cgroup.h: the hierarchies
// mounted and the caller's own cgroup in each) and what it plans from them for a process of
// its own (core/cgroup/process_cgroup.h: a service's monitor).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/cgroup/process_cgroup.h"
#include "core/cgroup/self_cgroup.h"

namespace nucleus {
namespace {

// ---- the hierarchy parsers --------------------------------------------------------------

constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "34 31 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "35 31 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "36 31 0:33 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "37 31 0:34 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(SelfCgroup, HybridUsesTheV1Controllers) {
  CgroupHierarchies h = parse_cgroup_mounts(kHybridMountinfo);
  parse_self_cgroup("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/42\n1:cpu:/\n0::/\n", h);
  EXPECT_EQ(h.layout, CgroupLayout::kHybrid);
  EXPECT_EQ(h.v2_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(h.v1_mounts.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(h.v1_own.at("memory"), "/process_api/42");
  EXPECT_EQ(h.v1_own.at("pids"), "/");
  EXPECT_FALSE(h.v1_mounts.count("systemd"));
}

TEST(SelfCgroup, PureV2) {
  CgroupHierarchies h =
      parse_cgroup_mounts("25 20 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  parse_self_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n", h);
  EXPECT_EQ(h.layout, CgroupLayout::kV2);
  EXPECT_EQ(h.v2_own, "/user.slice/user-1000.slice/session-2.scope");
  EXPECT_TRUE(h.v1_mounts.empty());
}

TEST(SelfCgroup, CoMountedV1AndEscapedPaths) {
  CgroupHierarchies h = parse_cgroup_mounts(
      "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "31 25 0:27 / /mnt/my\\040cgroups rw - cgroup cgroup rw,memory\n");
  parse_self_cgroup("3:cpu,cpuacct:/a\n2:memory:/b\n", h);
  EXPECT_EQ(h.layout, CgroupLayout::kV1);
  EXPECT_EQ(h.v1_mounts.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(h.v1_mounts.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(h.v1_mounts.at("memory"), "/mnt/my cgroups");
  EXPECT_EQ(h.v1_own.at("cpuacct"), "/a");
}

// ---- a process's own cgroup (a service's monitor) -------------------------------------------

TEST(ProcessCgroup, OneDirectoryBelowOurOwnInEveryHierarchy) {
  // This machine's layout: v1 controllers (memory somewhere of its own), the named systemd
  // hierarchy, and a controller-less cgroup2.
  CgroupHierarchies h = parse_cgroup_mounts(kHybridMountinfo);
  parse_self_cgroup("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/42\n1:cpu:/\n0::/\n", h);
  std::vector<std::string> dirs = own_cgroup_plan(h, "nucleus-7-monitor");
  std::set<std::string> got(dirs.begin(), dirs.end());
  EXPECT_EQ(got, (std::set<std::string>{"/sys/fs/cgroup/cpu/nucleus-7-monitor",
                                        "/sys/fs/cgroup/memory/process_api/42/nucleus-7-monitor",
                                        "/sys/fs/cgroup/pids/nucleus-7-monitor",
                                        "/sys/fs/cgroup/systemd/nucleus-7-monitor",
                                        "/sys/fs/cgroup/unified/nucleus-7-monitor"}));
  EXPECT_EQ(dirs.size(), got.size());  // each once
  EXPECT_EQ(dirs.back(), "/sys/fs/cgroup/unified/nucleus-7-monitor");  // v1 first

  // Co-mounted controllers share one directory; pure cgroup2: one.
  CgroupHierarchies co = parse_cgroup_mounts("30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
  parse_self_cgroup("3:cpu,cpuacct:/a\n", co);
  EXPECT_EQ(own_cgroup_plan(co, "m"), std::vector<std::string>{"/sys/fs/cgroup/cpu,cpuacct/a/m"});
  CgroupHierarchies v2 = parse_cgroup_mounts("25 20 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  parse_self_cgroup("0::/system.slice/app.service\n", v2);
  EXPECT_EQ(own_cgroup_plan(v2, "m"), std::vector<std::string>{"/sys/fs/cgroup/system.slice/app.service/m"});
}

TEST(ProcessCgroup, MonitorNamesAreRecognisedAndNothingElse) {
  EXPECT_EQ(monitor_cgroup_name(1234), "nucleus-1234-monitor");
  EXPECT_TRUE(is_monitor_cgroup("/sys/fs/cgroup/pids/nucleus-1234-monitor"));
  for (const char* other : {"/sys/fs/cgroup/pids/nucleus-1234-abcdef", "/sys/fs/cgroup/pids/nucleus--monitor",
                            "/sys/fs/cgroup/pids/nucleus-12x-monitor", "/sys/fs/cgroup/pids/user.slice",
                            "/sys/fs/cgroup/pids/../nucleus-1-monitor"}) {
    EXPECT_FALSE(is_monitor_cgroup(other)) << other;
  }
}

}  // namespace
}  // namespace nucleus
