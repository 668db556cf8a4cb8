// A systemd cgroupsPath ("slice:prefix:name") as the cgroupfs path nucleus uses without
// systemd: where runc's systemd driver would put the unit, inside its pod's and QoS class's
// slices.
#include <gtest/gtest.h>

#include "core/cgroup/systemd_path.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

TEST(SystemdPath, KubeletsPodSlicesExpand) {
  EXPECT_EQ(cgroupfs_path_of_systemd("kubepods-burstable-pod1234.slice:cri-containerd:abc"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abc.scope");
  EXPECT_EQ(cgroupfs_path_of_systemd("kubepods-pod99.slice:cri-containerd:def"),  // a Guaranteed pod
            "/kubepods.slice/kubepods-pod99.slice/cri-containerd-def.scope");
  EXPECT_EQ(cgroupfs_path_of_systemd("system.slice:nucleus:x"), "/system.slice/nucleus-x.scope");
  EXPECT_EQ(cgroupfs_path_of_systemd(":nucleus:x"), "/system.slice/nucleus-x.scope");  // systemd's default slice
  EXPECT_EQ(cgroupfs_path_of_systemd("-.slice:p:x"), "/p-x.scope");                    // the root slice
  EXPECT_EQ(cgroupfs_path_of_systemd("a-b.slice::x"), "/a.slice/a-b.slice/x.scope");
  EXPECT_EQ(cgroupfs_path_of_systemd("a.slice:p:c.slice"), "/a.slice/c.slice");  // the unit is a slice
  EXPECT_EQ(cgroupfs_path_of_systemd(""), "");
}

TEST(SystemdPath, WhatSystemdRefusesIsRefused) {
  for (const char* bad : {"/kubepods/pod1/abc", "a.slice:p", "a.slice:p:x:y", "notaslice:p:x", "-a.slice:p:x",
                          "a--b.slice:p:x", "a-.slice:p:x", ".slice:p:x", "a/b.slice:p:x", "a.slice:p:", "a.slice:p:x/y"}) {
    EXPECT_THROW(cgroupfs_path_of_systemd(bad), Error) << bad;
  }
  try {
    cgroupfs_path_of_systemd("a--b.slice:p:x");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "config.json: linux.cgroupsPath: invalid slice name 'a--b.slice'");
  }
}

}  // namespace
}  // namespace nucleus
