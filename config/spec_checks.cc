#include "config/spec_checks.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string_view>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

constexpr size_t kMaxHostname = 64;  // HOST_NAME_MAX; the NIS domain name has the same

// The mount types both backends make themselves; any other must be one this kernel knows.
constexpr std::string_view kBuiltinTypes[] = {"bind", "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"};

}  // namespace

uint64_t clone_flag(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid: return CLONE_NEWPID;
    case NamespaceType::kNetwork: return CLONE_NEWNET;
    case NamespaceType::kMount: return CLONE_NEWNS;
    case NamespaceType::kIpc: return CLONE_NEWIPC;
    case NamespaceType::kUts: return CLONE_NEWUTS;
    case NamespaceType::kUser: return CLONE_NEWUSER;
    case NamespaceType::kCgroup: return CLONE_NEWCGROUP;
  }
  return 0;
}

namespace {

bool kernel_knows(const std::string& type) {
  static const std::string known = [] {
    try {
      return sys::read_file("/proc/filesystems", 64u << 10, "read /proc/filesystems");
    } catch (const Error&) {
      return std::string();
    }
  }();
  std::istringstream in(known);
  for (std::string line; std::getline(in, line);) {
    if (line.substr(line.find_last_of(" \t") + 1) == type) return true;
  }
  return false;
}

void check_names(const ContainerSpec& spec) {
  if (spec.hostname.size() > kMaxHostname) {
    throw Error("config.json: hostname", "longer than " + std::to_string(kMaxHostname) + " bytes (the kernel's limit)");
  }
  if (spec.domainname.size() > kMaxHostname) {
    throw Error("config.json: domainname", "longer than " + std::to_string(kMaxHostname) + " bytes (the kernel's limit)");
  }
  for (const auto& [key, value] : spec.sysctl) {
    if (!namespaced_sysctl(key, spec)) {
      throw Error("config.json: linux.sysctl." + capped(key), "not a sysctl of the container's own namespaces");
    }
  }
}

void check_root_and_cgroup(const ContainerSpec& spec) {
  struct stat st;
  if (spec.root.path.empty() || ::stat(spec.root.path.c_str(), &st) != 0) {
    throw Error("config.json: root.path", "'" + capped(spec.root.path) + "' does not exist");
  }
  if (!S_ISDIR(st.st_mode)) throw Error("config.json: root.path", "'" + capped(spec.root.path) + "' is not a directory");
  std::istringstream parts(spec.cgroups_path);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part == "..") throw Error("config.json: linux.cgroupsPath", "'" + capped(spec.cgroups_path) + "' must not contain '..'");
  }
}

void check_mounts(const ContainerSpec& spec) {
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const MountSpec& m = spec.mounts[i];
    bool bind = std::any_of(m.options.begin(), m.options.end(), [](const std::string& o) { return o == "bind" || o == "rbind"; });
    if (bind || std::find(std::begin(kBuiltinTypes), std::end(kBuiltinTypes), m.type) != std::end(kBuiltinTypes)) continue;
    if (!kernel_knows(m.type)) {
      throw Error("config.json: mounts[" + std::to_string(i) + "].type", "unknown filesystem type '" + capped(m.type) + "'");
    }
  }
}

// A namespace joined by path is opened as the native backend opens it, and must be one of
// the type it is listed as (a file that is not a namespace, or the wrong kind, is refused).
void check_namespace_paths(const ContainerSpec& spec) {
  for (const NamespaceSpec& n : spec.namespaces) {
    if (n.path.empty()) continue;
    const std::string step = std::string("open the ") + to_string(n.type) + " namespace";
    UniqueFd fd = sys::open(n.path, O_RDONLY | O_NONBLOCK, step);
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (static_cast<uint64_t>(type) != clone_flag(n.type)) {
      throw Error("config.json: linux.namespaces", "'" + capped(n.path) + "' is not a " + to_string(n.type) + " namespace");
    }
  }
}

}  // namespace

bool namespaced_sysctl(const std::string& key, const ContainerSpec& spec) {
  static constexpr std::string_view kIpc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                              "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                              "kernel.shm_rmid_forced"};
  if (std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc) || key.rfind("fs.mqueue.", 0) == 0) {
    return spec.creates(NamespaceType::kIpc);
  }
  if (key.rfind("net.", 0) == 0) return spec.creates(NamespaceType::kNetwork);
  return false;
}

void check_config_spec(const ContainerSpec& spec) {
  if (!spec.hooks.create_container.empty() || !spec.hooks.start_container.empty()) {
    throw Error("config.json: hooks", "createContainer and startContainer hooks are not supported by nucleus");
  }
  check_root_and_cgroup(spec);
  check_names(spec);
  check_mounts(spec);
  check_namespace_paths(spec);
}

}  // namespace nucleus
