#include "config/presets.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nucleus {
namespace {

TEST(Presets, OneRowPerLevel) {
  for (IsolationLevel level : {IsolationLevel::kTrusted, IsolationLevel::kStandard, IsolationLevel::kUntrusted}) {
    EXPECT_EQ(preset_for(level).level, level);
    EXPECT_TRUE(preset_for(level).no_new_privs);
    EXPECT_TRUE(preset_for(level).seccomp);
    EXPECT_TRUE(preset_for(level).masked_paths);
  }
}

TEST(Presets, MatchTheContractTable) {
  const Preset& trusted = preset_for(IsolationLevel::kTrusted);
  EXPECT_EQ(trusted.backend, BackendKind::kNative);
  EXPECT_EQ(trusted.user_namespace, UserNamespacePolicy::kWhenRootless);
  EXPECT_EQ(trusted.root_capabilities.size(), 14u);
  EXPECT_FALSE(trusted.landlock);

  const Preset& standard = preset_for(IsolationLevel::kStandard);
  EXPECT_EQ(standard.backend, BackendKind::kNative);
  EXPECT_EQ(standard.user_namespace, UserNamespacePolicy::kAlways);
  EXPECT_TRUE(standard.root_capabilities.empty());
  EXPECT_TRUE(standard.landlock);

  const Preset& untrusted = preset_for(IsolationLevel::kUntrusted);
  EXPECT_EQ(untrusted.backend, BackendKind::kGvisor);
  EXPECT_TRUE(untrusted.root_capabilities.empty());
  EXPECT_FALSE(untrusted.landlock);  // not available under gVisor: reported, not claimed
}

TEST(Presets, DockerDefaultsNeverIncludeTheDangerousOnes) {
  auto caps = docker_default_capabilities();
  for (const char* dangerous : {"SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "DAC_READ_SEARCH", "NET_ADMIN",
                                "SYS_RAWIO", "SYS_BOOT", "SYS_TIME", "SYSLOG", "BPF", "PERFMON"}) {
    EXPECT_EQ(std::find(caps.begin(), caps.end(), dangerous), caps.end()) << dangerous;
  }
}

TEST(IsolationLevel, Spellings) {
  EXPECT_EQ(parse_isolation_level("standard"), IsolationLevel::kStandard);
  EXPECT_FALSE(parse_isolation_level("Standard"));
  EXPECT_EQ(parse_backend("gvisor"), BackendKind::kGvisor);
  EXPECT_FALSE(parse_backend("runsc"));
  EXPECT_EQ(parse_network("host"), NetworkMode::kHost);
  EXPECT_EQ(to_string(IsolationLevel::kUntrusted), "untrusted");
}

}  // namespace
}  // namespace nucleus
