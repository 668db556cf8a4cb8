#pragma once

#include <cstdint>

// The steps of the child sequence (child.cc), in the order they run. A ChildReport carries
// one of these; the parent words it (describe_child_failure in launch_plan.cc).
namespace nucleus::native {

enum class ChildStep : uint16_t {
  kWaitForParent,
  kBecomeRoot,
  kParentDeathSignal,
  kCgroupNamespace,
  kNoNewPrivs,
  kHostname,
  kLoopback,
  kPrivateMounts,
  kOpenStagingSource,
  kOpenRootSource,
  kStagingTmpfs,
  kStagingMount,
  kRootMount,
  kPivotRoot,
  kDetachOldRoot,
  kWorkdir,
  kRlimit,
  kSupervisor,
  kSupervisorLockdown,
  kNewSession,
  kBoundingSet,
  kKeepCaps,
  kSetgroups,
  kSetgid,
  kSetuid,
  kCapset,
  kAmbient,
  kLandlock,
  kCloseFds,
  kSeccomp,
  kExec,
};

}  // namespace nucleus::native
