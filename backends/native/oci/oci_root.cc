#include "backends/native/oci/oci_root.h"

#include "backends/native/plan/mounts.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <string_view>

#include "core/sys/error.h"

namespace nucleus::native {
namespace {

// The default devices of every OCI container (runtime-spec config-linux.md).
struct DefaultDevice {
  const char* name;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {{"null", 1, 3}, {"zero", 1, 5},    {"full", 1, 7},
                                             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

constexpr std::pair<const char*, const char*> kDevLinks[] = {
    {"dev/fd", "/proc/self/fd"}, {"dev/stdin", "/proc/self/fd/0"}, {"dev/stdout", "/proc/self/fd/1"},
    {"dev/stderr", "/proc/self/fd/2"}};

// Sysctls that belong to the container's own namespaces (runc's list): anything else would
// change the host's kernel.
bool namespaced_sysctl(const std::string& key, const ContainerSpec& spec) {
  static constexpr std::string_view kIpc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                              "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                              "kernel.shm_rmid_forced"};
  if (std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc) || key.rfind("fs.mqueue.", 0) == 0) {
    return spec.creates(NamespaceType::kIpc);
  }
  if (key.rfind("net.", 0) == 0) {
    return spec.creates(NamespaceType::kNetwork);
  }
  return false;
}


void add_cgroup_mount(RootPlan& plan, const MountSpec& m, const MountOptions& o, const OciRootInputs& in) {
  const std::string target = relative(m.destination);
  if (in.cgroup_v2) {
    for (const auto& [controller, dir] : in.cgroup_dirs) {
      plan.root_ops.push_back({.kind = MountKind::kBind, .target = target, .source = dir,
                               .attr = o.attr | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                               .no_symlinks = true, .recursive = false});
    }
    return;
  }
  // v1: a tmpfs holding one directory per hierarchy, each the container's own cgroup.
  plan.root_ops.push_back({.kind = MountKind::kTmpfs, .target = target, .data = "mode=755,size=64k",
                           .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC, .no_symlinks = true});
  for (const auto& [controller, dir] : in.cgroup_dirs) {
    plan.root_ops.push_back({.kind = MountKind::kBind, .target = target + "/" + controller, .source = dir,
                             .attr = o.attr | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                             .no_symlinks = true, .recursive = false});
  }
  if (o.flags & MS_RDONLY) plan.root_ops.push_back({.kind = MountKind::kReadOnly, .target = target, .no_symlinks = true});
}

void add_devices(RootPlan& plan, const ContainerSpec& spec, bool user_namespace) {
  auto add = [&](const std::string& path, char type, int64_t major, int64_t minor, uint32_t mode, uid_t uid, gid_t gid) {
    const std::string target = relative(path);
    if (user_namespace) {
      // mknod is refused in a user namespace: the host's node of that path, bound.
      plan.root_ops.push_back({.kind = MountKind::kBind, .target = target, .source = path,
                               .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, .target_kind = TargetKind::kFile,
                               .recursive = false});
      return;
    }
    uint32_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    plan.root_ops.push_back({.kind = MountKind::kDevice, .target = target, .no_symlinks = true,
                             .mode = kind | (mode & 07777),
                             .rdev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor)),
                             .uid = uid, .gid = gid});
  };
  for (const DefaultDevice& d : kDefaultDevices) {
    std::string path = std::string("/dev/") + d.name;
    bool overridden = std::any_of(spec.devices.begin(), spec.devices.end(), [&](const DeviceSpec& x) { return x.path == path; });
    if (!overridden) add(path, 'c', d.major, d.minor, 0666, 0, 0);
  }
  for (const DeviceSpec& d : spec.devices) add(d.path, d.type == 'u' ? 'c' : d.type, d.major, d.minor, d.file_mode, d.uid, d.gid);
}

}  // namespace

RootPlan plan_oci_root(const ContainerSpec& spec, const OciRootInputs& in, const HostProbe& probe) {
  RootPlan plan;
  plan.staging = pick_staging(probe);
  plan.root_subdir = "root";
  char resolved[PATH_MAX];
  if (spec.root.path.empty() || ::realpath(spec.root.path.c_str(), resolved) == nullptr) {
    throw Error("config.json: root.path", "'" + spec.root.path + "' does not exist");
  }
  plan.staging_ops.push_back({.kind = MountKind::kBind, .target = "root", .source = resolved});

  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const MountSpec& m = spec.mounts[i];
    const std::string where = "config.json: mounts[" + std::to_string(i) + "]";
    if (m.type == "cgroup" || m.type == "cgroup2") {
      add_cgroup_mount(plan, m, parse_mount_options(m.options, where + ".options"), in);
    } else {
      add_mount_ops(plan.root_ops, m, where, probe, SourcePaths::kAsWritten);
    }
  }
  add_devices(plan, spec, in.user_namespace);
  for (const auto& [link, text] : kDevLinks) {
    plan.root_ops.push_back({.kind = MountKind::kSymlink, .target = link, .data = text});
  }
  bool devpts = std::any_of(spec.mounts.begin(), spec.mounts.end(), [](const MountSpec& m) { return m.destination == "/dev/pts"; });
  if (devpts) plan.root_ops.push_back({.kind = MountKind::kSymlink, .target = "dev/ptmx", .data = "pts/ptmx"});
  for (const auto& [key, value] : spec.sysctl) {
    if (!namespaced_sysctl(key, spec)) {
      throw Error("config.json: linux.sysctl." + key, "not a sysctl of the container's own namespaces");
    }
    std::string path = "proc/sys/" + key;
    std::replace(path.begin() + 9, path.end(), '.', '/');
    plan.root_ops.push_back({.kind = MountKind::kWriteFile, .target = path, .data = value, .no_symlinks = true});
  }
  if (spec.process.cwd != "/") plan.root_ops.push_back({.kind = MountKind::kMkdir, .target = relative(spec.process.cwd)});
  for (const std::string& path : spec.masked_paths) {
    plan.root_ops.push_back({.kind = MountKind::kMask, .target = relative(path), .no_symlinks = true});
  }
  for (const std::string& path : spec.readonly_paths) {
    plan.root_ops.push_back({.kind = MountKind::kReadOnlyRebind, .target = relative(path), .no_symlinks = true});
  }
  if (!spec.rootfs_propagation.empty()) {
    MountOptions p = parse_mount_options({spec.rootfs_propagation}, "config.json: linux.rootfsPropagation");
    plan.root_propagation = p.propagation;
  }
  if (spec.root.read_only) plan.root_ops.push_back({.kind = MountKind::kReadOnly, .target = ""});
  return plan;
}

}  // namespace nucleus::native
