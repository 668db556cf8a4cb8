// What a config.json may not ask, checked once for both backends (issue 13: the gVisor path
// accepted what the native one refused).
#include "config/spec_checks.h"

#include <gtest/gtest.h>

#include "core/sys/error.h"
#include "core/sys/scoped.h"

namespace nucleus {
namespace {

ContainerSpec config_spec(const std::string& root) {
  ContainerSpec s;
  s.root.layout = RootSpec::Layout::kAsWritten;
  s.root.path = root;
  s.namespaces = {{NamespaceType::kPid, ""}, {NamespaceType::kNetwork, ""}, {NamespaceType::kIpc, ""}};
  return s;
}

std::string refusal(const ContainerSpec& s) {
  try {
    check_config_spec(s);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SpecChecks, WhatNoBackendDoes) {
  TempDir root("/tmp", "nucleus-unit-");
  EXPECT_EQ(refusal(config_spec(root.path())), "");
  ContainerSpec s = config_spec(root.path());
  s.hostname = std::string(65, 'a');
  EXPECT_EQ(refusal(s), "config.json: hostname: longer than 64 bytes (the kernel's limit)");
  s = config_spec(root.path());
  s.sysctl = {{"kernel.core_pattern", "|/x"}};
  EXPECT_EQ(refusal(s), "config.json: linux.sysctl.kernel.core_pattern: not a sysctl of the container's own namespaces");
  s.sysctl = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "1"}};
  EXPECT_EQ(refusal(s), "") << "its own network and ipc namespaces";
  s = config_spec(root.path());
  s.cgroups_path = "../../x";
  EXPECT_EQ(refusal(s), "config.json: linux.cgroupsPath: '../../x' must not contain '..'");
  s = config_spec(root.path());
  s.mounts = {{"/mnt", "nosuchfs", "none", {}}};
  EXPECT_EQ(refusal(s), "config.json: mounts[0].type: unknown filesystem type 'nosuchfs'");
  s.mounts = {{"/mnt", "tmpfs", "tmpfs", {}}, {"/data", "none", "/srv", {"rbind"}}};
  EXPECT_EQ(refusal(s), "");
  s = config_spec("/nonexistent-nucleus-root");
  EXPECT_EQ(refusal(s), "config.json: root.path: '/nonexistent-nucleus-root' does not exist");
  s = config_spec(root.path());
  s.hooks.create_container = {HookSpec{"/bin/true", {}, {}, {}}};
  EXPECT_EQ(refusal(s), "config.json: hooks: createContainer and startContainer hooks are not supported by nucleus");
}

TEST(SpecChecks, ANamespacePathIsANamespaceOfItsType) {
  TempDir root("/tmp", "nucleus-unit-");
  ContainerSpec s = config_spec(root.path());
  s.namespaces = {{NamespaceType::kNetwork, "/proc/self/ns/net"}};
  EXPECT_EQ(refusal(s), "");
  s.namespaces = {{NamespaceType::kNetwork, "/proc/self/ns/uts"}};
  EXPECT_EQ(refusal(s), "config.json: linux.namespaces: '/proc/self/ns/uts' is not a network namespace");
  s.namespaces = {{NamespaceType::kNetwork, "/etc/hostname"}};
  EXPECT_EQ(refusal(s), "config.json: linux.namespaces: '/etc/hostname' is not a network namespace");
  s.namespaces = {{NamespaceType::kNetwork, "/nonexistent/ns"}};
  EXPECT_EQ(refusal(s), "open the network namespace: /nonexistent/ns: No such file or directory");
}

}  // namespace
}  // namespace nucleus
