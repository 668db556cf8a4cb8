#include "config/resolve.h"

#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "config/host_paths.h"
#include "config/presets.h"
#include "config/resources.h"
#include "core/policy/env_filter.h"
#include "core/policy/identity.h"
#include "core/policy/masked_paths.h"
#include "core/policy/seccomp_json.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

// What the chosen backend cannot apply is refused, never silently dropped.
BackendKind choose_backend(const WorkloadSpec& r, const Preset& preset) {
  BackendKind kind = r.backend.value_or(preset.backend);
  if (r.isolation == IsolationLevel::kUntrusted && kind == BackendKind::kNative) {
    throw Error("--backend native", "the untrusted level runs only under gVisor");
  }
  if (kind == BackendKind::kGvisor) {
    if (r.landlock.value_or(false)) {
      throw Error("--landlock on", "Landlock cannot apply under gVisor (the Sentry has no Landlock)");
    }
    if (r.sd_notify) {
      throw Error("--sd-notify", "not available with the gVisor backend: the sandbox would need host socket "
                                 "access (runsc --host-uds), which nucleus does not grant");
    }
    if (!r.init) throw Error("--no-init", "the gVisor backend always runs nucleus-init as PID 1");
  } else if (r.gvisor_platform != GvisorPlatform::kAuto) {
    throw Error("--gvisor-platform", "applies to the gvisor backend only");
  }
  return kind;
}

std::string describe_range(const std::vector<IdMapping>& map) {
  std::string out;
  for (const IdMapping& m : map) out += (out.empty() ? "" : ", ") + std::to_string(m.inside) + "-" + std::to_string(m.inside + m.count - 1);
  return out;
}

void check_identity_is_mapped(const ContainerSpec& spec) {
  if (!spec.creates(NamespaceType::kUser)) return;
  const ProcessSpec& p = spec.process;
  const char* why = spec.deny_setgroups ? " (an unprivileged caller has only id 0 inside; run as root for a range)" : "";
  if (!is_mapped(spec.uid_mappings, p.uid)) {
    throw Error("--user", "uid " + std::to_string(p.uid) + " is outside the container's uids " + describe_range(spec.uid_mappings) + why);
  }
  if (!is_mapped(spec.gid_mappings, p.gid)) {
    throw Error("--user", "gid " + std::to_string(p.gid) + " is outside the container's gids " + describe_range(spec.gid_mappings) + why);
  }
  for (uint32_t g : p.additional_gids) {
    if (spec.deny_setgroups) throw Error("--group-add", "supplementary groups need a root caller (setgroups is denied)");
    if (!is_mapped(spec.gid_mappings, g)) {
      throw Error("--group-add", "gid " + std::to_string(g) + " is outside the container's gids " + describe_range(spec.gid_mappings));
    }
  }
}

void resolve_namespaces(ContainerSpec& spec, const WorkloadSpec& r, const Preset& preset, const HostFacts& host) {
  using T = NamespaceType;
  spec.namespaces = {{T::kPid, ""}, {T::kMount, ""}, {T::kUts, ""}, {T::kIpc, ""}};
  if (r.network != NetworkMode::kHost) spec.namespaces.push_back({T::kNetwork, ""});
  // gVisor: the sandbox is its own kernel (runsc makes its user namespace itself).
  if (spec.backend == BackendKind::kNative) {
    spec.namespaces.push_back({T::kCgroup, ""});
    if (preset.user_namespace == UserNamespacePolicy::kAlways || !host.caller_is_root) {
      spec.namespaces.push_back({T::kUser, ""});
      plan_user_namespace(spec, host);
    }
  }
}

void resolve_process(ContainerSpec& spec, const WorkloadSpec& r, const Preset& preset, const HostFacts& host) {
  ProcessSpec& p = spec.process;
  p.args = r.command;
  p.cwd = r.workdir;
  std::optional<UserSpec> user;
  if (r.user) user = parse_user_spec(*r.user, "--user");
  std::vector<IdRef> groups;
  for (const std::string& g : r.groups) groups.push_back(parse_group_ref(g, "--group-add"));
  // Read even for numeric ids: the primary group and HOME come from passwd.
  Identity id = resolve_identity(user, groups, host.read_container_file("etc/passwd"), host.read_container_file("etc/group"));
  p.uid = id.uid;
  p.gid = id.gid;
  p.additional_gids.assign(id.groups.begin(), id.groups.end());
  check_identity_is_mapped(spec);

  BaseEnvironment base;
  base.term = host.term;
  base.home = host.container_has_dir && host.container_has_dir(id.home) ? id.home : "/";
  Environment env = build_environment(base, r.env);
  for (const std::string& name : env.dropped) {
    spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
  }
  p.env = std::move(env.entries);

  CapSet keep = resolve_capabilities(preset.root_capabilities, p.uid == 0, r.capabilities.add, r.capabilities.drop);
  // A non-root workload carries what it keeps across exec in ambient (and so inheritable).
  bool ambient = p.uid != 0 && keep != 0;
  p.capabilities = {keep, keep, ambient ? keep : 0, keep, ambient ? keep : 0};
  // NPROC counts per (user namespace, uid): the table's value only inside one of our own.
  p.rlimits = plan_rlimits({.user_namespace = spec.backend == BackendKind::kGvisor || spec.creates(NamespaceType::kUser)});
  p.no_new_privileges = preset.no_new_privs;
}

void resolve_layers(ContainerSpec& spec, const WorkloadSpec& r, const Preset& preset, const HostFacts& host) {
  spec.seccomp.conditions = {.caps = spec.process.capabilities.effective, .trusted = preset.level == IsolationLevel::kTrusted};
  switch (r.seccomp.mode) {
    case SeccompMode::kDefault:
      spec.seccomp.profile = std::shared_ptr<const seccomp::Profile>(&seccomp::default_profile(), [](const seccomp::Profile*) {});
      spec.seccomp.nucleus_default = true;
      break;
    case SeccompMode::kUnconfined: break;
    case SeccompMode::kFile:
      spec.seccomp.profile = std::make_shared<const seccomp::Profile>(host.load_seccomp_profile(r.seccomp.profile_path));
      break;
  }
  spec.landlock = spec.backend == BackendKind::kNative && r.landlock.value_or(preset.landlock);
  if (preset.masked_paths) {
    for (std::string_view path : masked_paths()) spec.masked_paths.emplace_back(path);
    for (std::string_view path : read_only_paths()) spec.readonly_paths.emplace_back(path);
  }
}

size_t depth(const std::string& path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

// /tmp (unless the user placed something there), the extra tmpfs and the volumes, parents
// before what is mounted on them.
void resolve_mounts(ContainerSpec& spec, const WorkloadSpec& r) {
  std::vector<TmpfsSpec> tmpfs = r.tmpfs;
  bool tmp_covered = std::any_of(tmpfs.begin(), tmpfs.end(), [](const TmpfsSpec& t) { return t.destination == "/tmp"; }) ||
                     std::any_of(r.volumes.begin(), r.volumes.end(), [](const VolumeSpec& v) { return v.destination == "/tmp"; });
  if (!tmp_covered) tmpfs.push_back({"/tmp", kDefaultTmpSize});
  for (const TmpfsSpec& t : tmpfs) {
    spec.mounts.push_back({t.destination, "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=" + std::to_string(t.size_bytes)}});
  }
  for (const VolumeSpec& v : r.volumes) {
    spec.mounts.push_back({v.destination, "bind", v.source, {"rbind", v.read_only ? "ro" : "rw", "nosuid", "nodev"}});
  }
  std::stable_sort(spec.mounts.begin(), spec.mounts.end(),
                   [](const MountSpec& a, const MountSpec& b) { return depth(a.destination) < depth(b.destination); });
}

}  // namespace

void plan_user_namespace(ContainerSpec& spec, const HostFacts& host) {
  if (host.caller_is_root) {
    spec.uid_mappings = {{0, kSubordinateBase, kSubordinateCount}};
    spec.gid_mappings = {{0, kSubordinateBase, kSubordinateCount}};
    spec.deny_setgroups = false;
  } else {
    spec.uid_mappings = {{0, host.uid, 1}};
    spec.gid_mappings = {{0, host.gid, 1}};
    spec.deny_setgroups = true;
  }
}

ContainerSpec resolve_workload(const WorkloadSpec& r, const HostFacts& host) {
  const Preset& preset = preset_for(r.isolation);
  ContainerSpec spec;
  spec.isolation = r.isolation;
  spec.backend = choose_backend(r, preset);
  resolve_namespaces(spec, r, preset, host);
  resolve_process(spec, r, preset, host);
  resolve_layers(spec, r, preset, host);
  spec.root.path = r.rootfs.value_or("");
  spec.root.read_only = r.read_only;
  spec.root.layer_size = r.layer_size.value_or(kDefaultLayerSize);
  spec.root.layout = RootSpec::Layout::kNucleus;
  resolve_mounts(spec, r);
  spec.hostname = r.hostname;
  spec.network = r.network;
  // Without root nucleus cannot make a bridge, a veth or firewall rules: a non-root
  // caller's bridge is pasta's user-mode network (what it cannot enforce is refused).
  if (r.network == NetworkMode::kBridge && !host.caller_is_root) spec.network = NetworkMode::kPasta;
  if (spec.network == NetworkMode::kBridge) {
    // Accepted, it would never answer: Linux has no route_localnet for IPv6 (pasta, a
    // forwarder of its own, serves [::1]).
    for (const PortPublish& p : r.bridge.publish) {
      if (p.host_ip && *p.host_ip == *parse_ip("::1")) {
        throw Error("--publish", "[::1] cannot reach a bridge container (Linux routes no IPv6 loopback traffic out); "
                                 "publish on 127.0.0.1, or on every address (HOST:CONTAINER), which includes the host's IPv6 ones");
      }
    }
  }
  if (r.network == NetworkMode::kBridge || r.network == NetworkMode::kPasta) {
    spec.bridge = r.bridge;
    spec.bridge->hostname = r.hostname;
    // untrusted code on a bridge reaches only what it is allowed to (docs/networking.md).
    spec.bridge->default_deny = r.isolation == IsolationLevel::kUntrusted;
  } else {
    // Settings of a network this one does not have: refused, never silently dropped.
    const NetworkRequest defaults;
    const char* given = !r.bridge.publish.empty()                 ? "--publish (ports:)"
                        : !r.bridge.egress.empty()                ? "--egress-allow (egress:)"
                        : !r.bridge.resolvers.empty()             ? "--dns (dns:)"
                        : !r.bridge.extra_hosts.empty()           ? "--add-host (extra_hosts:)"
                        : !(r.bridge.subnet4 == defaults.subnet4) ? "--subnet (subnet:)"
                        : !(r.bridge.subnet6 == defaults.subnet6) ? "--subnet6 (subnet6:)"
                                                                  : nullptr;
    if (given != nullptr) throw Error(given, "needs --network bridge or pasta (network: bridge)");
  }
  spec.limits = cgroup_limits(r);
  spec.limits_requested = r.resources.requested();
  spec.cgroup_parent = r.resources.cgroup_parent;
  spec.init = r.init;
  spec.sd_notify = r.sd_notify;
  spec.timeout_seconds = r.timeout_seconds;
  spec.gvisor_platform = r.gvisor_platform;
  return spec;
}

ContainerSpec resolve_workload(const WorkloadSpec& request) {
  const WorkloadSpec r = resolve_host_paths(request);
  HostFacts host;
  host.uid = ::geteuid();
  host.gid = ::getegid();
  host.caller_is_root = host.uid == 0;
  host.term = sanitize_term(::getenv("TERM"));
  host.read_container_file = [rootfs = r.rootfs](const std::string& rel) { return read_container_file(rootfs, rel); };
  host.container_has_dir = [&r](const std::string& path) { return container_has_dir(r, path); };
  host.load_seccomp_profile = seccomp::load_json_profile;
  return resolve_workload(r, host);
}

}  // namespace nucleus
