#pragma once

#include "backends/native/plan/launch_plan.h"
#include "backends/native/oci/oci_root.h"

// A LaunchPlan from an OCI config (spec.oci set): the config's namespaces, id mappings,
// capability sets, rlimits, no_new_privs, seccomp filter and root, with nothing of the
// isolation presets added. Pure given the HostContext, like build_launch_plan.
namespace nucleus::native {

LaunchPlan build_oci_launch_plan(const WorkloadSpec& spec, const HostContext& host, const OciRootInputs& root);

// What an OCI process object sets, for `create` and `exec` alike: cwd, argv, the filtered
// environment (dropped names in plan.dropped_env) and PATH, capability sets, rlimits,
// no_new_privs, terminal, umask, oom_score_adj, and the container's seccomp filter.
void apply_oci_process(const OciProcess& process, const std::optional<seccomp::Profile>& seccomp, int last_cap,
                       LaunchPlan& plan);

// The clone/setns flag of a namespace type.
uint64_t clone_flag(OciNamespace ns);

}  // namespace nucleus::native
