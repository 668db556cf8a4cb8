#include "backends/native/plan/launch_plan.h"

#include <limits.h>

#include "backends/native/child/child_steps.h"
#include "backends/native/plan/namespaces.h"
#include "core/policy/env_filter.h"
#include "core/sys/exit_codes.h"

namespace nucleus::native {
namespace {

Identity resolve_workload_identity(const WorkloadSpec& spec, const HostContext& host) {
  std::optional<UserSpec> user;
  if (spec.user) user = parse_user_spec(*spec.user, "--user");
  std::vector<IdRef> groups;
  for (const std::string& g : spec.groups) groups.push_back(parse_group_ref(g, "--group-add"));
  // Read even for numeric ids: the primary group and HOME come from passwd.
  return resolve_identity(user, groups, host.read_container_file("etc/passwd"),
                          host.read_container_file("etc/group"));
}

void check_identity_is_mapped(const LaunchPlan& plan) {
  if (!plan.user_namespace) return;
  const Identity& id = plan.identity;
  auto range = [&](const std::vector<IdMapping>& map) {
    std::string out;
    for (const IdMapping& m : map) {
      out += (out.empty() ? "" : ", ") + std::to_string(m.inside) + "-" +
             std::to_string(m.inside + m.count - 1);
    }
    return out;
  };
  const char* why = plan.ids.deny_setgroups
                        ? " (an unprivileged caller has only id 0 inside; run as root for a range)"
                        : "";
  if (!is_mapped(plan.ids.uid_map, id.uid)) {
    throw Error("--user", "uid " + std::to_string(id.uid) + " is outside the container's uids " +
                              range(plan.ids.uid_map) + why);
  }
  if (!is_mapped(plan.ids.gid_map, id.gid)) {
    throw Error("--user", "gid " + std::to_string(id.gid) + " is outside the container's gids " +
                              range(plan.ids.gid_map) + why);
  }
  for (gid_t g : id.groups) {
    if (plan.ids.deny_setgroups) {
      throw Error("--group-add", "supplementary groups need a root caller (setgroups is denied)");
    }
    if (!is_mapped(plan.ids.gid_map, g)) {
      throw Error("--group-add", "gid " + std::to_string(g) + " is outside the container's gids " +
                                     range(plan.ids.gid_map));
    }
  }
}

std::string env_value(const std::vector<std::string>& entries, std::string_view key) {
  for (const std::string& e : entries) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      return e.substr(key.size() + 1);
    }
  }
  return {};
}

void plan_layers(LaunchPlan& plan, const WorkloadSpec& spec, const Preset& preset, const HostContext& host) {
  plan.no_new_privs = preset.no_new_privs && !host.ablation.no_new_privs;
  plan.rlimits = plan_rlimits({.user_namespace = plan.user_namespace});

  CapSet keep = resolve_capabilities(preset.root_capabilities, plan.identity.uid == 0, spec.capabilities.add,
                                     spec.capabilities.drop);
  plan.capabilities = CapabilityPlan::uniform(keep, plan.identity.uid != 0 && keep != 0, host.last_cap);

  bool landlock = spec.landlock.value_or(preset.landlock);
  if (landlock && host.landlock_abi == 0) {
    throw Error("landlock", std::string("this kernel does not offer Landlock, which the ") +
                                std::string(to_string(preset.level)) +
                                " level applies (see nucleus check); --landlock off runs without it");
  }
  LandlockInputs in;
  in.enabled = landlock;
  in.abi = host.landlock_abi;
  in.writable_root_layer = spec.rootfs.has_value() && !spec.read_only;
  bool tmp_listed = false;
  for (const TmpfsSpec& t : spec.tmpfs) {
    in.tmpfs.push_back(t.destination);
    tmp_listed |= t.destination == "/tmp";
  }
  for (const VolumeSpec& v : spec.volumes) {
    (v.read_only ? in.ro_volumes : in.rw_volumes).push_back(v.destination);
    tmp_listed |= v.destination == "/tmp";
  }
  if (!tmp_listed) in.tmpfs.push_back("/tmp");
  plan.landlock = plan_landlock(in);

  switch (spec.seccomp.mode) {
    case SeccompMode::kDefault: plan.seccomp_profile = seccomp::default_profile(); break;
    case SeccompMode::kUnconfined: plan.seccomp_profile.reset(); break;
    case SeccompMode::kFile: plan.seccomp_profile = host.load_seccomp_profile(spec.seccomp.profile_path); break;
  }
  plan.seccomp_conditions = {.caps = plan.capabilities.effective, .trusted = preset.level == IsolationLevel::kTrusted};
}

}  // namespace

void LaunchPlan::finalize() {
  argv.clear();
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  envp.clear();
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  child_identity.uid = identity.uid;
  child_identity.gid = identity.gid;
  child_identity.groups = identity.groups.data();
  child_identity.ngroups = identity.groups.size();
  child_identity.may_setgroups = !ids.deny_setgroups;
  staging_source_fds.assign(root.staging_ops.size(), -1);
  root_source_fds.assign(root.root_ops.size(), -1);
  dev_source_fds.assign(root.dev ? root.dev->inside.size() : 0, -1);
  exec_path.assign(PATH_MAX, '\0');
}

LaunchPlan build_launch_plan(const WorkloadSpec& spec, const Preset& preset,
                             const HostContext& host) {
  LaunchPlan plan;
  plan.user_namespace =
      preset.user_namespace == UserNamespacePolicy::kAlways || !host.caller_is_root;
  plan.clone_flags = clone_flags_for(
      {.user = plan.user_namespace, .network = spec.network == NetworkMode::kNone});
  if (plan.user_namespace) {
    plan.ids = plan_user_namespace(host.caller_is_root, host.uid, host.gid, kSubordinateBase,
                                   kSubordinateCount);
  }
  if (spec.rootfs) {
    plan.rootfs = *spec.rootfs;
    plan.idmapped_rootfs = plan.user_namespace && host.caller_is_root;
  }

  plan.identity = resolve_workload_identity(spec, host);
  check_identity_is_mapped(plan);

  RootOptions root;
  root.rootfs = spec.rootfs;
  root.read_only = spec.read_only;
  root.idmapped_rootfs = plan.idmapped_rootfs;
  root.user_namespace = plan.user_namespace;
  root.network = spec.network;
  root.volumes = spec.volumes;
  root.tmpfs = spec.tmpfs;
  root.workdir = spec.workdir;
  root.tty_group_mapped = !plan.user_namespace || is_mapped(plan.ids.gid_map, 5);
  root.mask_paths = preset.masked_paths && !host.ablation.masks;
  root.clamp_user_namespaces = plan.user_namespace && !host.ablation.userns_clamp;
  root.read_only_binds = !host.ablation.read_only_binds;
  plan.root = plan_root(root, host.probe);
  plan_layers(plan, spec, preset, host);

  plan.hostname = spec.hostname;
  plan.bring_up_loopback = spec.network == NetworkMode::kNone;
  plan.workdir = spec.workdir;
  plan.init = spec.init;
  plan.seccomp_from_supervisor = plan.init && plan.no_new_privs && spec.seccomp.mode == SeccompMode::kDefault;

  BaseEnvironment base;
  base.term = host.caller_term;
  const std::string& home = plan.identity.home;
  base.home = host.container_has_dir && host.container_has_dir(home) ? home : "/";
  Environment env = build_environment(base, spec.env);
  plan.env_storage = std::move(env.entries);
  plan.dropped_env = std::move(env.dropped);
  plan.search_path = env_value(plan.env_storage, "PATH");
  plan.argv_storage = spec.command;
  return plan;
}

Error describe_child_failure(const LaunchPlan& plan, const ChildReport& report) {
  auto op_at = [&](const std::vector<MountOp>& ops) -> std::string {
    if (report.index >= 0 && static_cast<size_t>(report.index) < ops.size()) {
      return ops[static_cast<size_t>(report.index)].describe();
    }
    return "set up the container's mounts";
  };
  auto source_at = [&](const std::vector<MountOp>& ops) -> std::string {
    if (report.index >= 0 && static_cast<size_t>(report.index) < ops.size()) {
      return "open " + ops[static_cast<size_t>(report.index)].source + " for binding";
    }
    return "open a bind source";
  };
  std::string step;
  int code = exit_code::kRuntimeError;
  switch (static_cast<ChildStep>(report.step)) {
    case ChildStep::kWaitForParent: step = "wait for nucleus to release the container"; break;
    case ChildStep::kWaitForCgroup: step = "wait for nucleus to make the container's cgroup"; break;
    case ChildStep::kJoinCgroup: step = "join the container's cgroup"; break;
    case ChildStep::kAffinity: step = "restore the caller's CPU affinity"; break;
    case ChildStep::kJoinNamespace: step = "join a namespace of config.json's linux.namespaces"; break;
    case ChildStep::kDomainname: step = "set domainname " + plan.oci.domainname; break;
    case ChildStep::kOomScore: step = "set oom_score_adj " + plan.oci.oom_score_text; break;
    case ChildStep::kTerminal: step = "set up the container's terminal"; break;
    case ChildStep::kReady: step = "report the container ready"; break;
    case ChildStep::kWaitForStart: step = "wait for nucleus start"; break;
    case ChildStep::kFindCommand:
      step = "exec " + (plan.argv_storage.empty() ? std::string("?") : plan.argv_storage[0]);
      code = report.err == ENOENT || report.err == ENOTDIR ? exit_code::kNotFound : exit_code::kCannotExecute;
      break;
    case ChildStep::kBecomeRoot: step = "become root in the container's user namespace"; break;
    case ChildStep::kParentDeathSignal: step = "tie the container's life to nucleus"; break;
    case ChildStep::kNoNewPrivs: step = "set no_new_privs"; break;
    case ChildStep::kCgroupNamespace: step = "enter a new cgroup namespace"; break;
    case ChildStep::kRlimit:
      step = "set RLIMIT_" + std::string(report.index >= 0 && static_cast<size_t>(report.index) < plan.rlimits.size()
                                             ? rlimit_name(plan.rlimits[static_cast<size_t>(report.index)].resource)
                                             : "?");
      break;
    case ChildStep::kSupervisorLockdown: step = "drop the supervisor's privileges"; break;
    case ChildStep::kBoundingSet: step = "drop the capability bounding set"; break;
    case ChildStep::kKeepCaps: step = "keep capabilities across the uid change"; break;
    case ChildStep::kCapset: step = "set capabilities"; break;
    case ChildStep::kAmbient: step = "raise ambient capabilities"; break;
    case ChildStep::kLandlock: step = "apply Landlock rules"; break;
    case ChildStep::kSeccomp: step = "install the seccomp filter"; break;
    case ChildStep::kHostname: step = "set hostname " + plan.hostname; break;
    case ChildStep::kLoopback: step = "bring up the loopback interface"; break;
    case ChildStep::kPrivateMounts: step = "make the container's mounts private"; break;
    case ChildStep::kOpenStagingSource: step = source_at(plan.root.staging_ops); break;
    case ChildStep::kOpenRootSource: step = source_at(plan.root.root_ops); break;
    case ChildStep::kStagingTmpfs: step = "mount the staging tmpfs at " + plan.root.staging; break;
    case ChildStep::kStagingMount: step = op_at(plan.root.staging_ops); break;
    case ChildStep::kRootMount: step = op_at(plan.root.root_ops); break;
    case ChildStep::kDevMount:
      if (plan.root.dev && report.index >= 0 && static_cast<size_t>(report.index) < plan.root.dev->inside.size()) {
        MountOp op = plan.root.dev->inside[static_cast<size_t>(report.index)];
        op.target = "dev/" + op.target;
        step = op.describe();
      } else {
        step = "mount tmpfs at /dev";
      }
      break;
    case ChildStep::kPivotRoot: step = "pivot_root into the container's root"; break;
    case ChildStep::kDetachOldRoot: step = "detach the host's root"; break;
    case ChildStep::kWorkdir: step = "change to workdir " + plan.workdir; break;
    case ChildStep::kNewSession: step = "start a new session (setsid)"; break;
    case ChildStep::kSupervisor: step = "start the PID-1 supervisor"; break;
    case ChildStep::kSetgroups: step = "set supplementary groups"; break;
    case ChildStep::kSetgid: step = "set gid " + std::to_string(plan.identity.gid); break;
    case ChildStep::kSetuid: step = "set uid " + std::to_string(plan.identity.uid); break;
    case ChildStep::kCloseFds: step = "close inherited file descriptors"; break;
    case ChildStep::kExec:
      step = "exec " + (plan.argv_storage.empty() ? std::string("?") : plan.argv_storage[0]);
      code = report.err == ENOENT || report.err == ENOTDIR ? exit_code::kNotFound
                                                            : exit_code::kCannotExecute;
      break;
    default: step = "start the container (step " + std::to_string(report.step) + ")"; break;
  }
  return Error(step, {}, report.err, code);
}

}  // namespace nucleus::native
