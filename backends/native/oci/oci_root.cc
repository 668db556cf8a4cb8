#include "backends/native/oci/oci_root.h"

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

struct FlagOption {
  std::string_view name;
  bool clear;            // "rw" clears what "ro" sets
  unsigned long flag;    // mount(2)
  uint64_t attr;         // mount_setattr(2), for binds; 0 where it has none
};

// clang-format off
constexpr FlagOption kFlagOptions[] = {
  {"ro", false, MS_RDONLY, MOUNT_ATTR_RDONLY},           {"rw", true, MS_RDONLY, MOUNT_ATTR_RDONLY},
  {"nosuid", false, MS_NOSUID, MOUNT_ATTR_NOSUID},       {"suid", true, MS_NOSUID, MOUNT_ATTR_NOSUID},
  {"nodev", false, MS_NODEV, MOUNT_ATTR_NODEV},          {"dev", true, MS_NODEV, MOUNT_ATTR_NODEV},
  {"noexec", false, MS_NOEXEC, MOUNT_ATTR_NOEXEC},       {"exec", true, MS_NOEXEC, MOUNT_ATTR_NOEXEC},
  {"sync", false, MS_SYNCHRONOUS, 0},                    {"async", true, MS_SYNCHRONOUS, 0},
  {"dirsync", false, MS_DIRSYNC, 0},
  {"noatime", false, MS_NOATIME, MOUNT_ATTR_NOATIME},    {"atime", true, MS_NOATIME, 0},
  {"nodiratime", false, MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {"diratime", true, MS_NODIRATIME, 0},
  {"relatime", false, MS_RELATIME, 0},                   {"norelatime", true, MS_RELATIME, 0},
  {"strictatime", false, MS_STRICTATIME, MOUNT_ATTR_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME, 0},
  {"lazytime", false, MS_LAZYTIME, 0},                   {"nolazytime", true, MS_LAZYTIME, 0},
  {"nosymfollow", false, MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}, {"symfollow", true, MS_NOSYMFOLLOW, 0},
  {"silent", false, MS_SILENT, 0},                       {"loud", true, MS_SILENT, 0},
  {"iversion", false, MS_I_VERSION, 0},                  {"noiversion", true, MS_I_VERSION, 0},
  {"nomand", true, MS_MANDLOCK, 0},                      {"defaults", true, 0, 0},
};
// clang-format on

constexpr std::pair<std::string_view, unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},          {"rprivate", MS_PRIVATE | MS_REC}, {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},  {"slave", MS_SLAVE},               {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},    {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Options that change what a mount is and that nucleus does not do: refused, not ignored.
constexpr std::string_view kRefusedOptions[] = {"remount", "mand", "idmap", "ridmap",
                                                "copy-symlink", "rro", "rrw", "rnosuid", "rnodev",
                                                "rnoexec", "move"};

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
bool namespaced_sysctl(const std::string& key, const OciSpec& oci) {
  static constexpr std::string_view kIpc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                              "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                              "kernel.shm_rmid_forced"};
  if (std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc) || key.rfind("fs.mqueue.", 0) == 0) {
    const OciNamespaceEntry* ipc = oci.find(OciNamespace::kIpc);
    return ipc != nullptr && ipc->path.empty();
  }
  if (key.rfind("net.", 0) == 0) {
    const OciNamespaceEntry* net = oci.find(OciNamespace::kNetwork);
    return net != nullptr && net->path.empty();
  }
  return false;
}

std::string relative(const std::string& absolute) {
  size_t start = absolute.find_first_not_of('/');
  return start == std::string::npos ? "" : absolute.substr(start);
}

TargetKind kind_of_source(const std::string& source, const HostProbe& probe) {
  auto entry = probe(source);
  if (entry && entry->type == HostEntry::kSymlink) {
    struct stat st;
    return ::stat(source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) ? TargetKind::kFile : TargetKind::kDirectory;
  }
  return entry && entry->type != HostEntry::kDirectory ? TargetKind::kFile : TargetKind::kDirectory;
}

void add_cgroup_mount(RootPlan& plan, const OciMount& m, const MountOptions& o, const OciRootInputs& in) {
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

void add_mount(RootPlan& plan, const OciMount& m, const std::string& where, const OciRootInputs& in,
               const HostProbe& probe) {
  MountOptions o = parse_mount_options(m.options, where + ".options");
  if (o.copy_up && m.type != "tmpfs") throw Error(where + ".options", "tmpcopyup applies to tmpfs mounts only");
  const std::string target = relative(m.destination);
  if (target.empty()) throw Error(where + ".destination", "'/' cannot be a mount point (the root is root.path)");
  if (m.type == "bind" || o.bind) {
    if (m.source.empty() || m.source[0] != '/') throw Error(where + ".source", "a bind needs an absolute source");
    MountOp op{.kind = MountKind::kBind, .target = target, .source = m.source, .attr = o.attr,
               .target_kind = kind_of_source(m.source, probe)};
    op.recursive = o.recursive;
    op.follow_source = true;
    op.propagation = o.propagation;
    plan.root_ops.push_back(std::move(op));
    return;
  }
  if (m.type == "cgroup" || m.type == "cgroup2") return add_cgroup_mount(plan, m, o, in);
  MountOp op{.target = target, .data = o.data, .flags = o.flags, .no_symlinks = true};
  if (m.type == "proc") {
    op.kind = MountKind::kProc;
  } else if (m.type == "sysfs") {
    op.kind = MountKind::kSysfs;
  } else if (m.type == "tmpfs") {
    op.kind = MountKind::kTmpfs;
    op.copy_up = o.copy_up;
  } else if (m.type == "devpts") {
    op.kind = MountKind::kDevpts;
  } else if (m.type == "mqueue") {
    op.kind = MountKind::kMqueue;
  } else {
    op.kind = MountKind::kFilesystem;
    op.fstype = m.type;
    op.source = m.source.empty() ? m.type : m.source;
  }
  plan.root_ops.push_back(std::move(op));
  if (o.propagation != 0) {
    plan.root_ops.push_back({.kind = MountKind::kPropagation, .target = target, .flags = o.propagation, .no_symlinks = true});
  }
}

void add_devices(RootPlan& plan, const OciSpec& oci, bool user_namespace) {
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
    bool overridden = std::any_of(oci.devices.begin(), oci.devices.end(), [&](const OciDevice& x) { return x.path == path; });
    if (!overridden) add(path, 'c', d.major, d.minor, 0666, 0, 0);
  }
  for (const OciDevice& d : oci.devices) add(d.path, d.type == 'u' ? 'c' : d.type, d.major, d.minor, d.file_mode, d.uid, d.gid);
}

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options, const std::string& where) {
  MountOptions o;
  for (const std::string& option : options) {
    if (option == "tmpcopyup") {
      o.copy_up = true;
      continue;
    }
    if (option == "bind" || option == "rbind") {
      o.bind = true;
      o.recursive = o.recursive || option == "rbind";
      continue;
    }
    auto flag = std::find_if(std::begin(kFlagOptions), std::end(kFlagOptions), [&](const FlagOption& f) { return f.name == option; });
    if (flag != std::end(kFlagOptions)) {
      if (flag->clear) {
        o.flags &= ~flag->flag;
        o.attr &= ~flag->attr;
      } else {
        o.flags |= flag->flag;
        o.attr |= flag->attr;
      }
      continue;
    }
    auto prop = std::find_if(std::begin(kPropagation), std::end(kPropagation), [&](const auto& p) { return p.first == option; });
    if (prop != std::end(kPropagation)) {
      o.propagation = prop->second;
      continue;
    }
    if (std::find(std::begin(kRefusedOptions), std::end(kRefusedOptions), option) != std::end(kRefusedOptions)) {
      throw Error(where, "mount option '" + option + "' is not supported by nucleus");
    }
    if (option.find(',') != std::string::npos || option.find('\0') != std::string::npos) {
      throw Error(where, "'" + option + "' is not one mount option");
    }
    o.data += (o.data.empty() ? "" : ",") + option;
  }
  return o;
}

RootPlan plan_oci_root(const WorkloadSpec& spec, const OciRootInputs& in, const HostProbe& probe) {
  const OciSpec& oci = *spec.oci;
  RootPlan plan;
  plan.staging = pick_staging(probe);
  plan.root_subdir = "root";
  char resolved[PATH_MAX];
  if (!spec.rootfs || ::realpath(spec.rootfs->c_str(), resolved) == nullptr) {
    throw Error("config.json: root.path", "'" + spec.rootfs.value_or("") + "' does not exist");
  }
  plan.staging_ops.push_back({.kind = MountKind::kBind, .target = "root", .source = resolved});

  for (size_t i = 0; i < oci.mounts.size(); ++i) {
    add_mount(plan, oci.mounts[i], "config.json: mounts[" + std::to_string(i) + "]", in, probe);
  }
  add_devices(plan, oci, in.user_namespace);
  for (const auto& [link, text] : kDevLinks) {
    plan.root_ops.push_back({.kind = MountKind::kSymlink, .target = link, .data = text});
  }
  bool devpts = std::any_of(oci.mounts.begin(), oci.mounts.end(), [](const OciMount& m) { return m.destination == "/dev/pts"; });
  if (devpts) plan.root_ops.push_back({.kind = MountKind::kSymlink, .target = "dev/ptmx", .data = "pts/ptmx"});
  for (const auto& [key, value] : oci.sysctl) {
    if (!namespaced_sysctl(key, oci)) {
      throw Error("config.json: linux.sysctl." + key, "not a sysctl of the container's own namespaces");
    }
    std::string path = "proc/sys/" + key;
    std::replace(path.begin() + 9, path.end(), '.', '/');
    plan.root_ops.push_back({.kind = MountKind::kWriteFile, .target = path, .data = value, .no_symlinks = true});
  }
  if (spec.workdir != "/") plan.root_ops.push_back({.kind = MountKind::kMkdir, .target = relative(spec.workdir)});
  for (const std::string& path : oci.masked_paths) {
    plan.root_ops.push_back({.kind = MountKind::kMask, .target = relative(path), .no_symlinks = true});
  }
  for (const std::string& path : oci.readonly_paths) {
    plan.root_ops.push_back({.kind = MountKind::kReadOnlyRebind, .target = relative(path), .no_symlinks = true});
  }
  if (!oci.rootfs_propagation.empty()) {
    MountOptions p = parse_mount_options({oci.rootfs_propagation}, "config.json: linux.rootfsPropagation");
    plan.root_ops.push_back({.kind = MountKind::kPropagation, .target = "", .flags = p.propagation});
  }
  if (spec.read_only) plan.root_ops.push_back({.kind = MountKind::kReadOnly, .target = ""});
  return plan;
}

}  // namespace nucleus::native
