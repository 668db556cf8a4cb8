#include "backends/native/oci/oci_plan.h"

#include <sched.h>

#include "core/policy/env_filter.h"
#include "core/policy/seccomp_profile.h"

namespace nucleus::native {
namespace {

std::vector<IdMapping> id_map(const std::vector<OciIdMapping>& from) {
  std::vector<IdMapping> out;
  for (const OciIdMapping& m : from) out.push_back({m.container_id, m.host_id, m.size});
  return out;
}

void plan_namespaces(LaunchPlan& plan, const OciSpec& oci, const HostContext& host) {
  if (!oci.has(OciNamespace::kMount)) throw Error("config.json: linux.namespaces", "nucleus needs a mount namespace");
  for (const OciNamespaceEntry& n : oci.namespaces) {
    if (!n.path.empty()) {
      // Joined by the child (setns) with fds the parent opens; the pid namespace by the
      // parent itself before clone (it applies to children only).
      if (n.type == OciNamespace::kUser || n.type == OciNamespace::kMount) {
        throw Error(std::string("config.json: linux.namespaces: ") + to_string(n.type),
                    "joining an existing namespace of this kind is not supported by nucleus");
      }
      continue;
    }
    if (n.type == OciNamespace::kCgroup) {
      plan.oci.new_cgroup_namespace = true;  // unshared once inside the container's cgroup
      continue;
    }
    plan.clone_flags |= clone_flag(n.type);
  }
  plan.user_namespace = (plan.clone_flags & CLONE_NEWUSER) != 0;
  if (!plan.user_namespace) {
    if (!host.caller_is_root) throw Error("config.json: linux.namespaces", "a non-root caller needs a user namespace");
    return;
  }
  plan.ids.uid_map = id_map(oci.uid_mappings);
  plan.ids.gid_map = id_map(oci.gid_mappings);
  if (plan.ids.uid_map.empty() || plan.ids.gid_map.empty()) {
    throw Error("config.json: linux.uidMappings", "a user namespace needs uid and gid mappings");
  }
  if (!host.caller_is_root) {
    // Without newuidmap, an unprivileged caller may map only itself, and setgroups goes.
    auto only_self = [](const std::vector<IdMapping>& m, uint32_t id) {
      return m.size() == 1 && m[0].outside == id && m[0].count == 1;
    };
    if (!only_self(plan.ids.uid_map, host.uid) || !only_self(plan.ids.gid_map, host.gid)) {
      throw Error("config.json: linux.uidMappings", "a non-root caller may map only its own uid and gid, once");
    }
    plan.ids.deny_setgroups = true;
  }
}

}  // namespace

uint64_t clone_flag(OciNamespace ns) {
  switch (ns) {
    case OciNamespace::kPid: return CLONE_NEWPID;
    case OciNamespace::kNetwork: return CLONE_NEWNET;
    case OciNamespace::kMount: return CLONE_NEWNS;
    case OciNamespace::kIpc: return CLONE_NEWIPC;
    case OciNamespace::kUts: return CLONE_NEWUTS;
    case OciNamespace::kUser: return CLONE_NEWUSER;
    case OciNamespace::kCgroup: return CLONE_NEWCGROUP;
  }
  return 0;
}

void apply_oci_process(const OciProcess& p, const std::optional<seccomp::Profile>& seccomp, int last_cap,
                       LaunchPlan& plan) {
  plan.workdir = p.cwd;
  plan.argv_storage = p.args;
  Environment env = filter_environment(p.env);
  plan.env_storage = std::move(env.entries);
  plan.dropped_env = std::move(env.dropped);
  plan.search_path = std::string(kDefaultPath);
  for (const std::string& e : plan.env_storage) {
    if (e.rfind("PATH=", 0) == 0) plan.search_path = e.substr(5);
  }
  plan.no_new_privs = p.no_new_privileges;
  plan.rlimits = p.rlimits;
  const OciCapabilities c = p.capabilities.value_or(OciCapabilities{});
  plan.capabilities = {c.bounding, c.permitted, c.effective, c.inheritable, c.ambient, last_cap};
  if (seccomp) plan.seccomp_profile = *seccomp;
  plan.seccomp_conditions = {.caps = c.effective, .trusted = false};
  plan.oci.terminal = p.terminal;
  plan.oci.rows = p.console_rows;
  plan.oci.columns = p.console_columns;
  if (p.oom_score_adj) {
    plan.oci.set_oom_score = true;
    plan.oci.oom_score_text = std::to_string(*p.oom_score_adj);
  }
  if (p.umask) {
    plan.oci.set_umask = true;
    plan.oci.umask = *p.umask;
  }
}

LaunchPlan build_oci_launch_plan(const WorkloadSpec& spec, const HostContext& host, const OciRootInputs& root) {
  const OciSpec& oci = *spec.oci;
  LaunchPlan plan;
  plan.oci.enabled = true;
  plan_namespaces(plan, oci, host);
  plan.rootfs = spec.rootfs.value_or("");

  UserSpec user = parse_user_spec(spec.user.value_or("0:0"), "config.json: process.user");
  std::vector<IdRef> groups;
  for (const std::string& g : spec.groups) groups.push_back(parse_group_ref(g, "config.json: process.user.additionalGids"));
  plan.identity = resolve_identity(user, groups, "", "");
  if (plan.user_namespace && (!is_mapped(plan.ids.uid_map, plan.identity.uid) || !is_mapped(plan.ids.gid_map, plan.identity.gid))) {
    throw Error("config.json: process.user", "uid " + std::to_string(plan.identity.uid) + ":" +
                                                   std::to_string(plan.identity.gid) + " is not mapped into the user namespace");
  }

  plan.root = plan_oci_root(spec, OciRootInputs{root.user_namespace || plan.user_namespace, root.cgroup_dirs, root.cgroup_v2},
                            host.probe);
  plan.hostname = spec.hostname;
  plan.bring_up_loopback = (plan.clone_flags & CLONE_NEWNET) != 0;
  plan.init = false;
  apply_oci_process(oci.process, oci.seccomp, host.last_cap, plan);
  plan.oci.domainname = oci.domainname;
  return plan;
}

}  // namespace nucleus::native
