// `nucleus spec` and `nucleus features`: what nucleus offers an OCI client.
#include "config/oci/oci_config.h"

#include "core/policy/capabilities.h"
#include "core/policy/masked_paths.h"

namespace nucleus {
namespace {

using json = nlohmann::json;

// runc's and crun's default set for `spec` (Docker's, less a few): what a generated
// config.json grants before the user edits it.
constexpr const char* kSpecCapabilities[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

json mount(const char* destination, const char* type, const char* source, std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

}  // namespace

json default_oci_config(bool rootless) {
  json caps = json::array();
  for (const char* c : kSpecCapabilities) caps.push_back(c);
  json masked = json::array();
  // The config mounts the container's own cgroup read-only at /sys/fs/cgroup: not masked.
  for (std::string_view p : masked_paths()) {
    if (p != "/sys/fs/cgroup") masked.push_back(std::string(p));
  }
  json readonly = json::array();
  for (std::string_view p : read_only_paths()) readonly.push_back(std::string(p));
  json mounts = json::array({
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
  json namespaces = json::array({{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                                 {{"type", "mount"}}, {{"type", "cgroup"}}});
  json linux = {{"namespaces", namespaces}, {"maskedPaths", masked}, {"readonlyPaths", readonly}};
  if (rootless) {
    linux["namespaces"].push_back({{"type", "user"}});
    linux["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});
    linux["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});
    // sysfs cannot be mounted fresh without the host's network namespace owner: bind it.
    mounts[5] = mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
  } else {
    linux["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  }
  return {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "nucleus"},
      {"mounts", mounts},
      {"linux", linux},
  };
}

json oci_features() {
  json caps = json::array();
  for (const std::string& c : capability_names(all_capabilities())) caps.push_back(c);
  return {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.2.0"},
      {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async", "atime", "bind", "defaults", "dev", "diratime", "exec", "iversion", "lazytime", "loud", "mand",
        "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
        "nostrictatime", "nosuid", "nosymfollow", "private", "rbind", "relatime", "remount", "ro", "rprivate",
        "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "symfollow",
        "sync", "unbindable", "tmpcopyup"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}},
        {"capabilities", caps},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions", {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                       "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP"}},
          {"operators", {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                         "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
          {"archs", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations", {{"run.nucleus.backend", "native or gvisor"}}},
  };
}

}  // namespace nucleus
