#include "backends/native/plan/devices.h"

#include <sys/mount.h>

#include <string_view>
#include <utility>

namespace nucleus::native {
namespace {

// Character devices bound from the host (docker's allow-list minus ptmx, which comes from
// the container's own devpts below).
constexpr std::string_view kDeviceNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

constexpr std::pair<std::string_view, std::string_view> kDeviceLinks[] = {
    {"fd", "/proc/self/fd"},         {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},   {"stderr", "/proc/self/fd/2"},
    {"ptmx", "pts/ptmx"},
};

constexpr unsigned long kNoExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;

}  // namespace

DevTree plan_dev_tree() {
  DevTree dev;
  dev.tmpfs = {.kind = MountKind::kTmpfs, .target = "dev", .data = "mode=0755,size=64k,nr_inodes=64",
               .flags = MS_NOSUID | MS_NOEXEC, .no_symlinks = true};
  for (std::string_view node : kDeviceNodes) {
    dev.inside.push_back({.kind = MountKind::kBind,
                          .target = std::string(node),
                          .source = "/dev/" + std::string(node),
                          .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                          .target_kind = TargetKind::kFile,
                          .no_symlinks = true});
  }
  for (const auto& [name, link] : kDeviceLinks) {
    dev.inside.push_back({.kind = MountKind::kSymlink, .target = std::string(name), .data = std::string(link),
                          .no_symlinks = true});
  }
  return dev;
}

void append_dev_mounts(std::vector<MountOp>& ops, const DevOptions& options) {
  auto add = [&ops](MountOp op) {
    op.no_symlinks = true;
    ops.push_back(std::move(op));
  };
  std::string pts = "newinstance,ptmxmode=0666,mode=0620";
  if (options.tty_group_mapped) pts += ",gid=5";
  add({.kind = MountKind::kDevpts, .target = "dev/pts", .data = pts, .flags = MS_NOSUID | MS_NOEXEC});
  add({.kind = MountKind::kTmpfs, .target = "dev/shm", .data = "mode=1777,size=64m", .flags = kNoExec});
  add({.kind = MountKind::kMqueue, .target = "dev/mqueue", .flags = kNoExec});
  // Last: nothing new can appear in /dev itself; the nodes above keep their own flags.
  add({.kind = MountKind::kReadOnly, .target = "dev"});
}

}  // namespace nucleus::native
