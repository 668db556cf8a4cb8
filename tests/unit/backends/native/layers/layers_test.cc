// The capability table, the masked-path tables, Landlock and rlimit plans, and how the
// launch plan turns presets and options into layers.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

#include "backends/native/layers/landlock.h"
#include "core/policy/rlimits.h"
#include "core/policy/capabilities.h"
#include "core/sys/error.h"
#include "core/policy/masked_paths.h"
#include "config/presets.h"

namespace nucleus {
namespace {

TEST(Capabilities, NamesAndNumbers) {
  EXPECT_EQ(capability_from_name("NET_RAW"), 13);
  EXPECT_EQ(capability_from_name("cap_net_raw"), 13);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_from_name("CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capability_from_name("CAP_FLY"));
  EXPECT_EQ(capability_name(13), "NET_RAW");
  EXPECT_EQ(capability_names(CapSet{1} << 5), (std::vector<std::string>{"CAP_KILL"}));
}

TEST(Capabilities, DockersDefaultSetIsItsKnownMask) {
  CapSet set = resolve_capabilities(docker_default_capabilities(), true, {}, {});
  EXPECT_EQ(set, 0xa80425fbull);
  EXPECT_EQ(resolve_capabilities(docker_default_capabilities(), false, {}, {}), 0u);  // non-root: none
}

TEST(Capabilities, AddAndDropAdjustThePreset) {
  auto docker = docker_default_capabilities();
  EXPECT_EQ(resolve_capabilities(docker, true, {}, {"ALL"}), 0u);
  EXPECT_EQ(resolve_capabilities(docker, true, {"KILL"}, {"ALL"}), CapSet{1} << 5);  // drop, then add
  EXPECT_EQ(resolve_capabilities({}, true, {"net_bind_service"}, {}), CapSet{1} << 10);
  EXPECT_EQ(resolve_capabilities(docker, true, {}, {"CHOWN", "CAP_KILL"}), 0xa80425fbull & ~0x21ull);
  EXPECT_THROW(resolve_capabilities(docker, true, {"FLY"}, {}), Error);
  EXPECT_THROW(resolve_capabilities(docker, true, {}, {"FLY"}), Error);
}

TEST(MaskedPaths, CoverTheSecurityBarsList) {
  auto masked = masked_paths();
  for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/interrupts",
                        "/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}) {
    EXPECT_NE(std::find(masked.begin(), masked.end(), p), masked.end()) << p;
  }
  auto ro = read_only_paths();
  for (const char* p : {"/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"}) {
    EXPECT_NE(std::find(ro.begin(), ro.end(), p), ro.end()) << p;
  }
}

TEST(Landlock, WritablePlacesAreExactlyTheDesignsOnes) {
  native::LandlockInputs in;
  in.enabled = true;
  in.abi = 6;
  in.tmpfs = {"/tmp", "/scratch"};
  in.rw_volumes = {"/work"};
  in.ro_volumes = {"/data", "/work/ref"};
  native::LandlockPlan plan = native::plan_landlock(in);
  EXPECT_EQ(plan.writable, (std::vector<std::string>{"/tmp", "/scratch", "/dev/shm", "/work"}));
  EXPECT_FALSE(plan.writable_root_layer);
  EXPECT_EQ(plan.root_excluded, (std::vector<std::string>{"proc", "sys", "dev", "data"}));
  EXPECT_EQ(plan.read & plan.write, 0u);
  EXPECT_EQ(plan.write & ((1u << 6) | (1u << 11)), 0u) << "never MAKE_CHAR or MAKE_BLOCK";
  EXPECT_NE(plan.scoped, 0u);
  EXPECT_EQ(plan.handled, (1ull << 16) - 1);

  in.abi = 1;
  plan = native::plan_landlock(in);
  EXPECT_EQ(plan.handled, (1ull << 13) - 1);  // no REFER, TRUNCATE, IOCTL_DEV before their ABIs
  EXPECT_EQ(plan.scoped, 0u);
  in.enabled = false;
  EXPECT_FALSE(native::plan_landlock(in).enabled);
}

TEST(Rlimits, TableIsCappedByTheCallersHardLimits) {
  auto limits = plan_rlimits({.user_namespace = true});
  auto find = [&](int r) {
    return std::find_if(limits.begin(), limits.end(), [r](const auto& l) { return l.resource == r; });
  };
  ASSERT_NE(find(RLIMIT_CORE), limits.end());
  EXPECT_EQ(find(RLIMIT_CORE)->hard, 0u);
  ASSERT_NE(find(RLIMIT_NOFILE), limits.end());
  rlimit current;
  getrlimit(RLIMIT_NOFILE, &current);
  EXPECT_LE(find(RLIMIT_NOFILE)->hard, current.rlim_max);
  EXPECT_LE(find(RLIMIT_NOFILE)->soft, find(RLIMIT_NOFILE)->hard);
  EXPECT_NE(find(RLIMIT_NPROC), limits.end());
  auto without_userns = plan_rlimits({.user_namespace = false});
  EXPECT_EQ(std::count_if(without_userns.begin(), without_userns.end(),
                          [](const auto& l) { return l.resource == RLIMIT_NPROC; }),
            0);
}

}  // namespace
}  // namespace nucleus
