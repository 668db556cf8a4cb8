#pragma once

#include "backends/native/launch_plan.h"
#include "backends/native/oci_root.h"

// A LaunchPlan from an OCI config (spec.oci set): the config's namespaces, id mappings,
// capability sets, rlimits, no_new_privs, seccomp filter and root, with nothing of the
// isolation presets added. Pure given the HostContext, like build_launch_plan.
namespace nucleus::native {

LaunchPlan build_oci_launch_plan(const WorkloadSpec& spec, const HostContext& host, const OciRootInputs& root);

}  // namespace nucleus::native
