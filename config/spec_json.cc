#include "config/spec_json.h"

#include <stdio.h>

#include <nlohmann/json.hpp>

#include "config/network_request_json.h"
#include "core/policy/seccomp_json.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

using json = nlohmann::json;

json caps_json(const CapabilitySets& c) {
  return {c.bounding, c.effective, c.inheritable, c.permitted, c.ambient};
}
CapabilitySets caps_from(const json& j) {
  return {j.at(0).get<CapSet>(), j.at(1).get<CapSet>(), j.at(2).get<CapSet>(), j.at(3).get<CapSet>(), j.at(4).get<CapSet>()};
}

json process_json(const ProcessSpec& p) {
  json rlimits = json::array();
  for (const RlimitSetting& r : p.rlimits) rlimits.push_back({r.resource, r.soft, r.hard});
  json j = {{"args", p.args},         {"env", p.env},
            {"cwd", p.cwd},           {"uid", p.uid},
            {"gid", p.gid},           {"groups", p.additional_gids},
            {"caps", caps_json(p.capabilities)}, {"rlimits", rlimits},
            {"nnp", p.no_new_privileges}, {"terminal", p.terminal},
            {"rows", p.console_rows}, {"columns", p.console_columns}};
  if (p.umask) j["umask"] = *p.umask;
  if (p.oom_score_adj) j["oom_score_adj"] = *p.oom_score_adj;
  return j;
}

ProcessSpec process_from(const json& j) {
  ProcessSpec p;
  p.args = j.at("args").get<std::vector<std::string>>();
  p.env = j.at("env").get<std::vector<std::string>>();
  p.cwd = j.at("cwd").get<std::string>();
  p.uid = j.at("uid").get<uint32_t>();
  p.gid = j.at("gid").get<uint32_t>();
  p.additional_gids = j.at("groups").get<std::vector<uint32_t>>();
  p.capabilities = caps_from(j.at("caps"));
  for (const json& r : j.at("rlimits")) {
    p.rlimits.push_back({r.at(0).get<int>(), r.at(1).get<rlim_t>(), r.at(2).get<rlim_t>()});
  }
  p.no_new_privileges = j.at("nnp").get<bool>();
  p.terminal = j.at("terminal").get<bool>();
  p.console_rows = j.at("rows").get<uint16_t>();
  p.console_columns = j.at("columns").get<uint16_t>();
  if (j.contains("umask")) p.umask = j["umask"].get<uint32_t>();
  if (j.contains("oom_score_adj")) p.oom_score_adj = j["oom_score_adj"].get<int>();
  return p;
}

// nucleus's default profile is named, not copied (it is the binary's own table); any other
// is kept resolved, in the OCI form.
json seccomp_json(const SeccompSpec& s) {
  json j = {{"caps", s.conditions.caps}, {"trusted", s.conditions.trusted}};
  if (s.nucleus_default) {
    j["default"] = true;
  } else if (s.profile) {
    j["profile"] = seccomp::to_oci(seccomp::resolve(*s.profile, s.conditions));
  }
  return j;
}

SeccompSpec seccomp_from(const json& j, const std::string& what) {
  SeccompSpec s;
  s.conditions = {.caps = j.at("caps").get<CapSet>(), .trusted = j.at("trusted").get<bool>()};
  if (j.value("default", false)) {
    s.nucleus_default = true;
    s.profile = std::shared_ptr<const seccomp::Profile>(&seccomp::default_profile(), [](const seccomp::Profile*) {});
  } else if (j.contains("profile")) {
    s.profile = std::make_shared<const seccomp::Profile>(seccomp::parse_json_profile(j["profile"].dump(), what + ": seccomp"));
  }
  return s;
}

json limits_json(const CgroupLimits& l) {
  json j = json::object();
  auto opt = [&](const char* key, const auto& v) {
    if (v) j[key] = *v;
  };
  opt("memory", l.memory_bytes);
  opt("cpus", l.cpus);
  opt("pids", l.pids);
  opt("io_weight", l.io_weight);
  opt("memory_swap", l.memory_swap);
  opt("memory_reservation", l.memory_reservation);
  opt("cpu_shares", l.cpu_shares);
  opt("cpu_period", l.cpu_period_us);
  json io = json::array();
  for (const IoMax& m : l.io_max) io.push_back({m.device, m.rbps.value_or(0), m.wbps.value_or(0), m.riops.value_or(0), m.wiops.value_or(0)});
  json devices = json::array();
  for (const CgroupDeviceRule& d : l.devices) devices.push_back({d.allow, std::string(1, d.type), d.major, d.minor, d.access});
  j["io_max"] = io;
  j["devices"] = devices;
  j["stats"] = l.stats;
  j["oci"] = l.oci;
  j["cpuset_cpus"] = l.cpuset_cpus;
  j["cpuset_mems"] = l.cpuset_mems;
  return j;
}

CgroupLimits limits_from(const json& j) {
  CgroupLimits l;
  auto opt = [&](const char* key, auto& v) {
    if (j.contains(key)) v = j[key].get<typename std::remove_reference_t<decltype(v)>::value_type>();
  };
  opt("memory", l.memory_bytes);
  opt("cpus", l.cpus);
  opt("pids", l.pids);
  opt("io_weight", l.io_weight);
  opt("memory_swap", l.memory_swap);
  opt("memory_reservation", l.memory_reservation);
  opt("cpu_shares", l.cpu_shares);
  opt("cpu_period", l.cpu_period_us);
  auto nonzero = [](uint64_t v) { return v ? std::optional<uint64_t>(v) : std::nullopt; };
  for (const json& m : j.at("io_max")) {
    l.io_max.push_back({m.at(0).get<std::string>(), nonzero(m.at(1).get<uint64_t>()), nonzero(m.at(2).get<uint64_t>()),
                        nonzero(m.at(3).get<uint64_t>()), nonzero(m.at(4).get<uint64_t>())});
  }
  for (const json& d : j.at("devices")) {
    l.devices.push_back({d.at(0).get<bool>(), d.at(1).get<std::string>().at(0), d.at(2).get<int64_t>(), d.at(3).get<int64_t>(),
                         d.at(4).get<std::string>()});
  }
  l.stats = j.at("stats").get<bool>();
  l.oci = j.at("oci").get<bool>();
  l.cpuset_cpus = j.at("cpuset_cpus").get<std::string>();
  l.cpuset_mems = j.at("cpuset_mems").get<std::string>();
  return l;
}

json hooks_json(const std::vector<HookSpec>& hooks) {
  json out = json::array();
  for (const HookSpec& h : hooks) {
    json j = {{"path", h.path}, {"args", h.args}, {"env", h.env}};
    if (h.timeout_seconds) j["timeout"] = *h.timeout_seconds;
    out.push_back(j);
  }
  return out;
}

std::vector<HookSpec> hooks_from(const json& j) {
  std::vector<HookSpec> out;
  for (const json& h : j) {
    HookSpec s{h.at("path").get<std::string>(), h.at("args").get<std::vector<std::string>>(),
               h.at("env").get<std::vector<std::string>>(), std::nullopt};
    if (h.contains("timeout")) s.timeout_seconds = h["timeout"].get<int>();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::string spec_to_json(const ContainerSpec& s) {
  json mounts = json::array();
  for (const MountSpec& m : s.mounts) mounts.push_back({m.destination, m.type, m.source, m.options});
  json namespaces = json::array();
  for (const NamespaceSpec& n : s.namespaces) namespaces.push_back({static_cast<int>(n.type), n.path});
  auto maps = [](const std::vector<IdMapping>& v) {
    json out = json::array();
    for (const IdMapping& m : v) out.push_back({m.inside, m.outside, m.count});
    return out;
  };
  json devices = json::array();
  for (const DeviceSpec& d : s.devices) devices.push_back({d.path, std::string(1, d.type), d.major, d.minor, d.file_mode, d.uid, d.gid});
  json j = {{"backend", static_cast<int>(s.backend)},
            {"isolation", static_cast<int>(s.isolation)},
            {"process", process_json(s.process)},
            {"root", {s.root.path, s.root.read_only, static_cast<int>(s.root.layout), s.root.layer_size}},
            {"mounts", mounts},
            {"namespaces", namespaces},
            {"uid_mappings", maps(s.uid_mappings)},
            {"gid_mappings", maps(s.gid_mappings)},
            {"deny_setgroups", s.deny_setgroups},
            {"hostname", s.hostname},
            {"domainname", s.domainname},
            {"network", static_cast<int>(s.network)},
            {"sysctl", s.sysctl},
            {"devices", devices},
            {"seccomp", seccomp_json(s.seccomp)},
            {"landlock", s.landlock},
            {"masked_paths", s.masked_paths},
            {"readonly_paths", s.readonly_paths},
            {"rootfs_propagation", s.rootfs_propagation},
            {"limits", limits_json(s.limits)},
            {"limits_requested", s.limits_requested},
            {"cgroups_path", s.cgroups_path},
            {"init", s.init},
            {"sd_notify", s.sd_notify},
            {"gvisor_platform", static_cast<int>(s.gvisor_platform)},
            {"bundle", s.bundle},
            {"hooks", {hooks_json(s.hooks.prestart), hooks_json(s.hooks.create_runtime), hooks_json(s.hooks.create_container),
                       hooks_json(s.hooks.start_container), hooks_json(s.hooks.poststart), hooks_json(s.hooks.poststop)}},
            {"annotations", s.annotations}};
  if (s.cgroup_parent) j["cgroup_parent"] = *s.cgroup_parent;
  if (s.timeout_seconds) j["timeout"] = *s.timeout_seconds;
  if (s.bridge) j["bridge"] = network_request_json(*s.bridge);
  return j.dump();
}

ContainerSpec spec_from_json(const std::string& text, const std::string& what) {
  try {
    json j = json::parse(text);
    ContainerSpec s;
    s.backend = static_cast<BackendKind>(j.at("backend").get<int>());
    s.isolation = static_cast<IsolationLevel>(j.at("isolation").get<int>());
    s.process = process_from(j.at("process"));
    const json& root = j.at("root");
    s.root.path = root.at(0).get<std::string>();
    s.root.read_only = root.at(1).get<bool>();
    s.root.layout = static_cast<RootSpec::Layout>(root.at(2).get<int>());
    s.root.layer_size = root.size() > 3 ? root.at(3).get<uint64_t>() : kDefaultLayerSize;
    for (const json& m : j.at("mounts")) {
      s.mounts.push_back({m.at(0).get<std::string>(), m.at(1).get<std::string>(), m.at(2).get<std::string>(),
                          m.at(3).get<std::vector<std::string>>()});
    }
    for (const json& n : j.at("namespaces")) s.namespaces.push_back({static_cast<NamespaceType>(n.at(0).get<int>()), n.at(1).get<std::string>()});
    auto maps = [](const json& v) {
      std::vector<IdMapping> out;
      for (const json& m : v) out.push_back({m.at(0).get<uint32_t>(), m.at(1).get<uint32_t>(), m.at(2).get<uint32_t>()});
      return out;
    };
    s.uid_mappings = maps(j.at("uid_mappings"));
    s.gid_mappings = maps(j.at("gid_mappings"));
    s.deny_setgroups = j.at("deny_setgroups").get<bool>();
    s.hostname = j.at("hostname").get<std::string>();
    s.domainname = j.at("domainname").get<std::string>();
    s.network = static_cast<NetworkMode>(j.at("network").get<int>());
    // A record written before the request was kept (nucleus up to stop 27) has none: what
    // resolution gives without flags (config/resolve.cc), `untrusted`'s default deny
    // included, never an empty request for a bridge.
    if (j.contains("bridge")) {
      s.bridge = network_request_from(j["bridge"], what);
    } else if (s.network == NetworkMode::kBridge || s.network == NetworkMode::kPasta) {
      s.bridge = NetworkRequest{};
      if (!s.hostname.empty()) s.bridge->hostname = s.hostname;
      s.bridge->default_deny = s.isolation == IsolationLevel::kUntrusted;
    }
    s.sysctl = j.at("sysctl").get<std::vector<std::pair<std::string, std::string>>>();
    for (const json& d : j.at("devices")) {
      s.devices.push_back({d.at(0).get<std::string>(), d.at(1).get<std::string>().at(0), d.at(2).get<int64_t>(), d.at(3).get<int64_t>(),
                           d.at(4).get<uint32_t>(), d.at(5).get<uid_t>(), d.at(6).get<gid_t>()});
    }
    s.seccomp = seccomp_from(j.at("seccomp"), what);
    s.landlock = j.at("landlock").get<bool>();
    s.masked_paths = j.at("masked_paths").get<std::vector<std::string>>();
    s.readonly_paths = j.at("readonly_paths").get<std::vector<std::string>>();
    s.rootfs_propagation = j.at("rootfs_propagation").get<std::string>();
    s.limits = limits_from(j.at("limits"));
    s.limits_requested = j.at("limits_requested").get<bool>();
    s.cgroups_path = j.at("cgroups_path").get<std::string>();
    if (j.contains("cgroup_parent")) s.cgroup_parent = j["cgroup_parent"].get<std::string>();
    s.init = j.at("init").get<bool>();
    s.sd_notify = j.at("sd_notify").get<bool>();
    if (j.contains("timeout")) s.timeout_seconds = j["timeout"].get<uint32_t>();
    s.gvisor_platform = static_cast<GvisorPlatform>(j.at("gvisor_platform").get<int>());
    s.bundle = j.at("bundle").get<std::string>();
    const json& h = j.at("hooks");
    s.hooks = {hooks_from(h.at(0)), hooks_from(h.at(1)), hooks_from(h.at(2)), hooks_from(h.at(3)), hooks_from(h.at(4)), hooks_from(h.at(5))};
    s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    return s;
  } catch (const json::exception& e) {
    throw Error(what, std::string("not a container spec nucleus wrote: ") + e.what());
  }
}

void write_spec_file(const std::string& record_dir, const ContainerSpec& spec) {
  const std::string path = record_dir + "/spec.json";
  sys::replace_file(path, spec_to_json(spec), "keep the container's spec");
}

ContainerSpec read_spec_file(const std::string& record_dir) {
  const std::string path = record_dir + "/spec.json";
  // 100,000 egress rules of long names come to about 26 MB.
  return spec_from_json(sys::read_file(path, 64u << 20, "read the container's spec"), path);
}

}  // namespace nucleus
