// config.json -> THE container spec: a config podman 4.3 wrote (tests/unit/data/oci), summarised
// and compared with its golden file; each field nucleus refuses; mount options; the OCI
// root plan (sysctls of the host refused, devices bound in a user namespace).
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backends/native/oci/oci_root.h"
#include "backends/native/plan/mounts.h"
#include "config/oci/oci_config.h"
#include "core/sys/error.h"
#include "tests/support/slurp.h"

namespace nucleus {
namespace {

using test::slurp;

using json = nlohmann::json;

std::string caps(CapSet set) {
  std::string out;
  for (const std::string& n : capability_names(set, false)) out += (out.empty() ? "" : ",") + n;
  return out.empty() ? "-" : out;
}

// One line per fact the mapping produced, in a fixed order: the golden file's form.
std::string summarize(const ContainerSpec& s) {
  std::ostringstream out;
  const ProcessSpec& p = s.process;
  out << "command:";
  for (const auto& a : p.args) out << " " << a;
  out << "\nrootfs: " << (s.root.path.empty() ? "-" : s.root.path) << (s.root.read_only ? " (read-only)" : "") << "\n";
  out << "user: " << p.uid << ":" << p.gid << " groups:";
  for (const auto& g : p.additional_gids) out << " " << g;
  out << "\ncwd: " << p.cwd << "\nhostname: " << s.hostname << "\ninit: " << s.init << "\n";
  out << "network: " << to_string(s.network) << "\n";
  const CapabilitySets& c = p.capabilities;
  for (const auto& e : p.env) out << "env: " << e << "\n";
  out << "caps bounding: " << caps(c.bounding) << "\ncaps effective: " << caps(c.effective)
      << "\ncaps permitted: " << caps(c.permitted) << "\ncaps inheritable: " << caps(c.inheritable)
      << "\ncaps ambient: " << caps(c.ambient) << "\n";
  for (const auto& r : p.rlimits) out << "rlimit: " << rlimit_name(r.resource) << " " << r.soft << " " << r.hard << "\n";
  out << "no_new_privileges: " << p.no_new_privileges << "\noom_score_adj: " << p.oom_score_adj.value_or(0) << "\n";
  for (const auto& m : s.mounts) {
    out << "mount: " << m.destination << " " << m.type << " " << m.source;
    for (const auto& opt : m.options) out << " " << opt;
    out << "\n";
  }
  for (const auto& n : s.namespaces) out << "namespace: " << to_string(n.type) << (n.path.empty() ? "" : " " + n.path) << "\n";
  out << "memory: " << s.limits.memory_bytes.value_or(0) << " swap: " << s.limits.memory_swap.value_or(0)
      << "\npids: " << s.limits.pids.value_or(0) << "\n";
  for (const auto& d : s.limits.devices) out << "device rule: " << (d.allow ? "allow " : "deny ") << d.type << " " << d.access << "\n";
  for (const auto& [k, v] : s.sysctl) out << "sysctl: " << k << "=" << v << "\n";
  out << "cgroups_path: " << s.cgroups_path << "\n";
  out << "masked: " << s.masked_paths.size() << " readonly: " << s.readonly_paths.size() << "\n";
  out << "seccomp: " << (s.seccomp.profile ? std::to_string(s.seccomp.profile->rules.size()) + " rules" : "none") << "\n";
  for (const auto& [k, v] : s.annotations) out << "annotation: " << k << "=" << v << "\n";
  return out.str();
}

TEST(OciConfig, PodmansConfigMatchesItsGoldenSummary) {
  const std::string dir = std::string(TEST_DATA_DIR) + "/oci";
  ContainerSpec spec = parse_oci_config(slurp(dir + "/podman-config.json"), "/bundle");
  std::string got = summarize(spec);
  EXPECT_EQ(got, slurp(dir + "/podman-config.golden"));
}

json minimal() {
  return {{"ociVersion", "1.0.2"},
          {"root", {{"path", "rootfs"}}},
          {"process", {{"args", {"sh"}}, {"cwd", "/"}}},
          {"linux", {{"namespaces", {{{"type", "pid"}}, {{"type", "mount"}}}}}}};
}

std::string refusal(const std::function<void(json&)>& change) {
  json c = minimal();
  change(c);
  try {
    parse_oci_config(c.dump(), "/b");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(OciConfig, MinimalConfigMapsOntoTheSpec) {
  ContainerSpec s = parse_oci_config(minimal().dump(), "/b");
  EXPECT_EQ(s.root.path, "/b/rootfs");  // relative to the bundle
  EXPECT_EQ(s.root.layout, RootSpec::Layout::kAsWritten);
  EXPECT_EQ(s.process.args, std::vector<std::string>{"sh"});
  EXPECT_FALSE(s.init);                     // the config's process is PID 1
  EXPECT_EQ(s.network, NetworkMode::kHost);  // no network namespace listed
  EXPECT_EQ(s.limits.pids, -1);              // no default limit for OCI
  EXPECT_FALSE(s.seccomp.profile);
  EXPECT_EQ(s.process.capabilities, CapabilitySets{});  // no capabilities unless listed
  EXPECT_FALSE(s.process.no_new_privileges);            // unset means false
}

TEST(OciConfig, EachFieldNucleusCannotHonourIsAnErrorNamingIt) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& c) { c["linux"]["intelRdt"] = {{"closID", "x"}}; }, "config.json: linux.intelRdt: not supported by nucleus"},
      {[](json& c) { c["solaris"] = {{"milestone", "x"}}; }, "config.json: (top level).solaris: not supported by nucleus"},
      {[](json& c) { c["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1}}}}; }, "config.json: linux.timeOffsets: not supported by nucleus"},
      {[](json& c) { c["linux"]["personality"] = {{"domain", "LINUX32"}}; }, "config.json: linux.personality: not supported by nucleus"},
      {[](json& c) { c["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_RT"}}; }, "config.json: process.ioPriority: not supported by nucleus"},
      {[](json& c) { c["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}}; }, "config.json: process.scheduler: not supported by nucleus"},
      {[](json& c) { c["linux"]["netDevices"] = {{"eth1", json::object()}}; }, "config.json: linux.netDevices: not supported by nucleus"},
      {[](json& c) { c["linux"]["resources"] = {{"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 1}}}}}; }, "config.json: linux.resources.hugepageLimits: not supported by nucleus"},
      {[](json& c) { c["linux"]["resources"] = {{"memory", {{"kernel", 1024}}}}; }, "config.json: linux.resources.memory.kernel: not supported by nucleus"},
      {[](json& c) { c["linux"]["resources"] = {{"cpu", {{"realtimeRuntime", 5}}}}; }, "config.json: linux.resources.cpu.realtimeRuntime: not supported by nucleus"},
      {[](json& c) { c["mounts"] = {{{"destination", "/x"}, {"type", "bind"}, {"source", "/y"}, {"uidMappings", {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}}}}}; }, "config.json: mounts[0].uidMappings: not supported by nucleus"},
      {[](json& c) { c["linux"]["namespaces"].push_back({{"type", "time"}}); }, "config.json: linux.namespaces[2].type: time namespaces are not supported by nucleus"},
      {[](json& c) { c["linux"]["namespaces"].push_back({{"type", "pid"}}); }, "config.json: linux.namespaces[2].type: pid is listed twice"},
      {[](json& c) { c["ociVersion"] = "2.0.0"; }, "config.json: ociVersion: '2.0.0': nucleus reads runtime-spec 1.x"},
      {[](json& c) { c["process"]["args"] = json::array(); }, "config.json: process.args: no command to run"},
      {[](json& c) { c["process"]["cwd"] = "relative"; }, "config.json: process.cwd: 'relative' must be an absolute path"},
      {[](json& c) { c["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"soft", 1}, {"hard", 1}}}; }, "config.json: process.rlimits[0].type: unknown rlimit 'RLIMIT_BOGUS'"},
      {[](json& c) { c["process"]["capabilities"] = {{"bounding", {"CAP_FLY"}}}; }, "config.json: process.capabilities.bounding[0]: unknown capability 'CAP_FLY'"},
      {[](json& c) { c["hooks"] = {{"prestart", {{{"path", "hook"}}}}}; }, "config.json: hooks.prestart[0].path: 'hook' must be an absolute path"},
      {[](json& c) { c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}; }, "config.json: linux.uidMappings: id mappings need a user namespace"},
      {[](json& c) { c["hostname"] = "box"; }, "config.json: hostname: setting a hostname needs a uts namespace"},
      {[](json& c) { c["annotations"] = {{"run.nucleus.backend", "qemu"}}; }, "config.json: annotations.run.nucleus.backend: 'qemu' is not native or gvisor"},
  };
  for (const auto& [change, message] : cases) EXPECT_EQ(refusal(change), message);
}

// runtime-spec: "implementations MUST ignore unknown properties", at any depth; a known field
// that asks nothing (empty, false, null) is no refusal either.
TEST(OciConfig, UnknownKeysAreIgnoredAtEveryDepth) {
  json c = minimal();
  c["futureTopLevel"] = {{"x", 1}};
  c["process"]["futureProcessKey"] = true;
  c["process"]["user"] = {{"uid", 0}, {"gid", 0}, {"futureUserKey", "y"}};
  c["process"]["capabilities"] = {{"bounding", {"CAP_KILL"}}, {"futureSet", {"CAP_SYS_ADMIN"}}};
  c["root"]["futureRootKey"] = 1;
  c["linux"]["futureLinuxKey"] = {{"a", 1}};
  c["linux"]["resources"] = {{"memory", {{"limit", 1048576}, {"futureMemoryKey", 1}}}, {"futureResource", {{"b", 2}}}};
  c["linux"]["namespaces"][0]["futureNamespaceKey"] = 1;
  c["mounts"] = {{{"destination", "/x"}, {"type", "tmpfs"}, {"futureMountKey", 1}}};
  c["hooks"] = {{"prestart", {{{"path", "/bin/true"}, {"futureHookKey", 1}}}}, {"futurePhase", json::array()}};
  c["linux"]["intelRdt"] = json::object();  // known, asks nothing
  c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"futureSeccompKey", 1},
                           {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}, {"futureRuleKey", 1}}}}};
  ContainerSpec s = parse_oci_config(c.dump(), "/b");
  EXPECT_EQ(s.limits.memory_bytes, 1048576u);  // what is known is still read
  EXPECT_EQ(s.process.capabilities.bounding, CapSet{1} << CAP_KILL);
  ASSERT_EQ(s.mounts.size(), 1u);
  EXPECT_EQ(s.hooks.prestart.size(), 1u);
  ASSERT_TRUE(s.seccomp.profile);
  EXPECT_EQ(s.seccomp.profile->rules.size(), 1u);
}

// Labels and profiles: nothing to apply where the module is off (crun's behaviour there),
// refused where it is on (nucleus does not apply them).
TEST(OciConfig, LabelFieldsFollowTheHostsSecurityModules) {
  json c = minimal();
  c["process"]["apparmorProfile"] = "docker-default";
  c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
  c["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
  EXPECT_NO_THROW(parse_oci_config(c.dump(), "/b", LsmState{}));
  auto refusal_with = [&](LsmState lsm, const std::function<void(json&)>& change) -> std::string {
    json d = minimal();
    change(d);
    try {
      parse_oci_config(d.dump(), "/b", lsm);
    } catch (const Error& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(refusal_with({.apparmor = true}, [](json& d) { d["process"]["apparmorProfile"] = "docker-default"; }),
            "config.json: process.apparmorProfile: AppArmor is enabled on this host and nucleus does not apply its labels");
  EXPECT_EQ(refusal_with({.apparmor = true}, [](json& d) { d["process"]["apparmorProfile"] = "unconfined"; }), "(accepted)");
  EXPECT_EQ(refusal_with({.selinux = true}, [](json& d) { d["process"]["selinuxLabel"] = "x"; }),
            "config.json: process.selinuxLabel: SELinux is enabled on this host and nucleus does not apply its labels");
  EXPECT_EQ(refusal_with({.selinux = true}, [](json& d) { d["linux"]["mountLabel"] = "x"; }),
            "config.json: linux.mountLabel: SELinux is enabled on this host and nucleus does not apply its labels");
  EXPECT_EQ(refusal_with({.selinux = true}, [](json& d) { d["linux"]["mountLabel"] = ""; }), "(accepted)");
}

// `runc spec` lists ambient capabilities without an inheritable set: the kernel would refuse
// to raise them, and runc and crun run the process without them.
TEST(OciConfig, AmbientCapabilitiesTheKernelCannotRaiseAreDropped) {
  json c = minimal();
  c["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_CHOWN"}}, {"permitted", {"CAP_KILL", "CAP_CHOWN"}},
                                  {"inheritable", {"CAP_CHOWN"}}, {"ambient", {"CAP_KILL", "CAP_CHOWN"}}};
  ContainerSpec s = parse_oci_config(c.dump(), "/b");
  EXPECT_EQ(s.process.capabilities.ambient, CapSet{1} << CAP_CHOWN);  // permitted and inheritable
  EXPECT_EQ(s.process.capabilities.permitted, (CapSet{1} << CAP_KILL) | (CapSet{1} << CAP_CHOWN));
}

TEST(OciConfig, DisableOomKillerIsRecordedForTheBackend) {
  json c = minimal();
  c["linux"]["resources"] = {{"memory", {{"disableOOMKiller", true}}}};
  EXPECT_TRUE(parse_oci_config(c.dump(), "/b").disable_oom_killer);
  c["linux"]["resources"]["memory"]["disableOOMKiller"] = false;
  EXPECT_FALSE(parse_oci_config(c.dump(), "/b").disable_oom_killer);
}

// Mounts keep the config's order, and the root plan makes them in that order with the
// options given; the root's propagation is set once the root is entered, not as a mount op.
TEST(OciRoot, MountsAreMadeInTheConfigsOrderWithTheirOptions) {
  HostProbe probe = [](const std::string& path) -> std::optional<HostEntry> {
    if (path == "/tmp" || path == "/etc") return HostEntry{HostEntry::kDirectory, "", ""};
    return std::nullopt;
  };
  json c = minimal();
  c["root"]["path"] = "/";
  c["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                 {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "mode=755"}}},
                 {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"}, {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
                 {{"destination", "/data"}, {"type", "bind"}, {"source", "/etc"}, {"options", {"rbind", "ro"}}},
                 {{"destination", "/data/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
  c["linux"]["rootfsPropagation"] = "rshared";
  ContainerSpec spec = parse_oci_config(c.dump(), "/b");
  std::vector<std::string> destinations;
  for (const MountSpec& m : spec.mounts) destinations.push_back(m.destination);
  EXPECT_EQ(destinations, (std::vector<std::string>{"/proc", "/dev", "/dev/shm", "/data", "/data/tmp"}));
  native::RootPlan plan = native::plan_oci_root(spec, {}, probe);
  std::vector<std::string> targets;
  for (const auto& op : plan.root_ops) {
    if (op.kind == native::MountKind::kProc || op.kind == native::MountKind::kTmpfs || op.kind == native::MountKind::kBind) {
      targets.push_back(op.target);
    }
    if (op.target == "dev/shm" && op.kind == native::MountKind::kTmpfs) {
      EXPECT_EQ(op.data, "mode=1777,size=65536k");
      EXPECT_EQ(op.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
    }
    EXPECT_NE(op.kind, native::MountKind::kPropagation) << op.target;
  }
  // The config's mounts first and in order; the default devices (bound or made) after them.
  ASSERT_GE(targets.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(targets.begin(), targets.begin() + 5),
            (std::vector<std::string>{"proc", "dev", "dev/shm", "data", "data/tmp"}));
  EXPECT_EQ(plan.root_propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
}

// A missing key or an object where a list belongs: one line naming the exact path.
TEST(OciConfig, MissingKeysAndNonListsNameTheirPath) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& c) { c.erase("ociVersion"); }, "config.json: ociVersion: missing"},
      {[](json& c) { c["root"].erase("path"); }, "config.json: root.path: missing"},
      {[](json& c) { c["root"] = nullptr; }, "config.json: root: missing"},
      {[](json& c) { c["mounts"] = {{{"type", "tmpfs"}}}; }, "config.json: mounts[0].destination: missing"},
      {[](json& c) { c["mounts"] = {{"destination", "/x"}}; }, "config.json: mounts: expected a list"},
      {[](json& c) { c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1}}}; }, "config.json: process.rlimits[0].hard: missing"},
      {[](json& c) { c["hooks"] = {{"poststop", {{{"args", {"x"}}}}}}; }, "config.json: hooks.poststop[0].path: missing"},
      {[](json& c) { c["linux"]["namespaces"] = {{{"path", "/proc/1/ns/net"}}}; }, "config.json: linux.namespaces[0].type: missing"},
      {[](json& c) { c["linux"]["devices"] = {{{"type", "c"}, {"major", 1}, {"minor", 3}}}; }, "config.json: linux.devices[0].path: missing"},
      {[](json& c) { c["linux"]["resources"] = {{"devices", {{{"access", "rwm"}}}}}; }, "config.json: linux.resources.devices[0].allow: missing"},
      {[](json& c) {
         c["linux"]["namespaces"].push_back({{"type", "user"}});
         c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}}};
       }, "config.json: linux.uidMappings[0].size: missing"},
  };
  for (const auto& [change, message] : cases) EXPECT_EQ(refusal(change), message);
}

TEST(OciConfig, ResourcesMapOntoLimits) {
  json c = minimal();
  c["linux"]["resources"] = {{"memory", {{"limit", 67108864}, {"swap", 134217728}}},
                             {"cpu", {{"quota", 50000}, {"period", 100000}, {"shares", 512}}},
                             {"pids", {{"limit", 0}}},
                             {"blockIO", {{"weight", 500}, {"throttleWriteBpsDevice", {{{"major", 8}, {"minor", 0}, {"rate", 1024}}}}}}};
  ContainerSpec s = parse_oci_config(c.dump(), "/b");
  EXPECT_EQ(s.limits.memory_bytes, 67108864u);
  EXPECT_EQ(s.limits.memory_swap, 134217728);
  EXPECT_DOUBLE_EQ(*s.limits.cpus, 0.5);
  EXPECT_EQ(s.limits.cpu_shares, 512u);
  EXPECT_EQ(s.limits.pids, -1);  // 0 and below: unlimited
  EXPECT_EQ(s.limits.io_weight, 5000u);  // v1 scale to cgroup2's
  ASSERT_EQ(s.limits.io_max.size(), 1u);
  EXPECT_EQ(s.limits.io_max[0].device, "8:0");
  EXPECT_EQ(s.limits.io_max[0].wbps, 1024u);
}

TEST(OciMountOptions, FlagsPropagationAndData) {
  native::MountOptions o = native::parse_mount_options({"nosuid", "noexec", "ro", "rw", "rprivate", "mode=755", "size=65536k"}, "m");
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));  // rw cleared ro
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(o.data, "mode=755,size=65536k");
  native::MountOptions b = native::parse_mount_options({"rbind", "ro", "nodev"}, "m");
  EXPECT_TRUE(b.bind && b.recursive);
  EXPECT_EQ(b.attr, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV));
  EXPECT_TRUE(native::parse_mount_options({"tmpcopyup"}, "m").copy_up);
  EXPECT_THROW(native::parse_mount_options({"remount"}, "m"), Error);
  EXPECT_THROW(native::parse_mount_options({"idmap"}, "m"), Error);
}

TEST(OciRoot, HostSysctlsAreRefusedAndDevicesBoundInAUserNamespace) {
  HostProbe probe = [](const std::string& path) -> std::optional<HostEntry> {
    if (path == "/tmp") return HostEntry{HostEntry::kDirectory, "", ""};
    return std::nullopt;
  };
  json c = minimal();
  c["root"]["path"] = "/";
  c["linux"]["namespaces"].push_back({{"type", "network"}});
  c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  ContainerSpec ok = parse_oci_config(c.dump(), "/b");
  native::RootPlan plan = native::plan_oci_root(ok, {.user_namespace = true}, probe);
  bool wrote_sysctl = false, bound_null = false;
  for (const auto& op : plan.root_ops) {
    wrote_sysctl |= op.kind == native::MountKind::kWriteFile && op.target == "proc/sys/net/ipv4/ip_forward" && op.data == "1";
    bound_null |= op.kind == native::MountKind::kBind && op.target == "dev/null" && op.source == "/dev/null";
  }
  EXPECT_TRUE(wrote_sysctl);
  EXPECT_TRUE(bound_null);  // mknod is refused in a user namespace

  c["linux"]["sysctl"] = {{"kernel.panic", "1"}};  // the host's kernel, not the container's
  ContainerSpec bad = parse_oci_config(c.dump(), "/b");
  try {
    native::plan_oci_root(bad, {}, probe);
    FAIL() << "a host sysctl must be refused";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "config.json: linux.sysctl.kernel.panic: not a sysctl of the container's own namespaces");
  }
}

}  // namespace
}  // namespace nucleus
