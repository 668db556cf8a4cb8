#include "backends/native/plan/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>

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

TargetKind kind_of_source(const std::string& source, const HostProbe& probe) {
  auto entry = probe(source);
  if (entry && entry->type == HostEntry::kSymlink) {
    struct stat st;
    return ::stat(source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) ? TargetKind::kFile : TargetKind::kDirectory;
  }
  return entry && entry->type != HostEntry::kDirectory ? TargetKind::kFile : TargetKind::kDirectory;
}

}  // namespace

std::string relative(const std::string& absolute) {
  size_t start = absolute.find_first_not_of('/');
  return start == std::string::npos ? "" : absolute.substr(start);
}

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

void add_mount_ops(std::vector<MountOp>& ops, const MountSpec& m, const std::string& where, const HostProbe& probe,
                   SourcePaths sources) {
  MountOptions o = parse_mount_options(m.options, where + ".options");
  if (o.copy_up && m.type != "tmpfs") throw Error(where + ".options", "tmpcopyup applies to tmpfs mounts only");
  const std::string target = relative(m.destination);
  if (target.empty()) throw Error(where + ".destination", "'/' cannot be a mount point (the root is root.path)");
  if (m.type == "bind" || o.bind) {
    if (m.source.empty() || m.source[0] != '/') throw Error(where + ".source", "a bind needs an absolute source");
    MountOp op{.kind = MountKind::kBind, .target = target, .source = m.source, .attr = o.attr,
               .target_kind = kind_of_source(m.source, probe)};
    op.recursive = o.recursive;
    op.follow_source = sources == SourcePaths::kAsWritten;
    op.propagation = o.propagation;
    ops.push_back(std::move(op));
    return;
  }
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
  ops.push_back(std::move(op));
  if (o.propagation != 0) {
    ops.push_back({.kind = MountKind::kPropagation, .target = target, .flags = o.propagation, .no_symlinks = true});
  }
}


}  // namespace nucleus::native
