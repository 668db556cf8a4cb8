#pragma once

#include <cstdint>

// The steps of the child sequence (child.cc), in the order they run. A ChildReport carries
// one of these; the parent words it (describe_child_failure in launch_plan.cc).
namespace nucleus::native {

enum class ChildStep : uint16_t {
  kNetworkNamespace,
  kWaitForParent,
  kJoinNamespace,
  kBecomeRoot,
  kParentDeathSignal,
  kCgroupNamespace,
  kNoNewPrivs,
  kHostname,
  kDomainname,
  kLoopback,
  kPrivateMounts,
  kOpenStagingSource,
  kOpenRootSource,
  kStagingTmpfs,
  kStagingMount,
  kRootMount,
  kDevMount,
  kPivotRoot,
  kDetachOldRoot,
  kRootPropagation,
  kWorkdir,
  kRlimit,
  kOomScore,
  kWaitForCgroup,
  kAffinity,
  kJoinCgroup,
  kSupervisor,
  kSupervisorLockdown,
  kNewSession,
  kTerminal,
  kBoundingSet,
  kKeepCaps,
  kSetgroups,
  kSetgid,
  kSetuid,
  kCapset,
  kAmbient,
  kLandlock,
  kCloseFds,
  kFindCommand,
  kReady,
  kWaitForStart,
  kSeccomp,
  kExec,
};

}  // namespace nucleus::native
