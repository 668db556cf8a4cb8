// A workload's resource limits as the cgroup drivers get them (config/resources.h):
// defaults and the parsers of sizes, CPUs and I/O limits.
#include <gtest/gtest.h>

#include "config/resources.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

TEST(ResourceLimits, DefaultsAndParsers) {
  WorkloadSpec spec;
  CgroupLimits l = cgroup_limits(spec);
  EXPECT_EQ(l.pids, 1024);
  EXPECT_FALSE(l.memory_bytes || l.cpus || l.io_weight);
  EXPECT_TRUE(l.stats);  // every container can be watched (stats), paused (freezer) and updated

  IoMax m = parse_io_max("8:16 rbps=1K wiops=50", "--io-max");
  EXPECT_EQ(m.device, "8:16");
  EXPECT_EQ(m.rbps, 1024u);
  EXPECT_EQ(m.wiops, 50u);
  EXPECT_FALSE(m.wbps || m.riops);
  for (const char* bad : {"", "8:0", "8 rbps=1", "8:x rbps=1", "8:0 rbps", "8:0 rbps=0", "8:0 speed=1"}) {
    EXPECT_THROW(parse_io_max(bad, "--io-max"), Error) << bad;
  }
  EXPECT_EQ(parse_io_weight("10000", "w"), 10000u);
  EXPECT_THROW(parse_io_weight("0", "w"), Error);
  EXPECT_EQ(parse_cgroup_parent("/ci/jobs", "p"), "/ci/jobs");
  EXPECT_EQ(parse_cgroup_parent("a..b", "p"), "a..b");
  for (const char* bad : {"", "..", "../x", "/a/../b", "/a/.."}) EXPECT_THROW(parse_cgroup_parent(bad, "p"), Error) << bad;
}

}  // namespace
}  // namespace nucleus
