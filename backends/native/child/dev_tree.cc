#include "backends/native/child/dev_tree.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

constexpr std::string_view kDev = "dev/";

// "null" for "dev/null"; "" for anything that is not directly beneath /dev.
std::string_view name_in_dev(const std::string& target) {
  std::string_view t = target;
  if (t.substr(0, kDev.size()) != kDev) return {};
  t.remove_prefix(kDev.size());
  return t.find('/') == std::string_view::npos ? t : std::string_view{};
}

// MS_* flags of the tmpfs as fsmount attributes; false for any flag not known here.
bool mount_attrs(unsigned long flags, unsigned* attrs) {
  constexpr std::pair<unsigned long, unsigned> kMap[] = {
      {MS_NOSUID, MOUNT_ATTR_NOSUID}, {MS_NODEV, MOUNT_ATTR_NODEV}, {MS_NOEXEC, MOUNT_ATTR_NOEXEC}};
  *attrs = 0;
  for (const auto& [ms, attr] : kMap) {
    if (flags & ms) *attrs |= attr;
    flags &= ~ms;
  }
  return flags == 0;
}

// The tmpfs, detached: its options one fsconfig call each, its root owned by uid:gid.
UniqueFd new_tmpfs(const MountOp& op, uid_t uid, gid_t gid) {
  unsigned attrs = 0;
  if (op.kind != MountKind::kTmpfs || !mount_attrs(op.flags, &attrs)) return {};
  std::vector<std::pair<std::string, std::string>> options;
  const std::string text = "source=tmpfs," + op.data + ",uid=" + std::to_string(uid) + ",gid=" + std::to_string(gid);
  for (size_t start = 0; start <= text.size();) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos) return {};
    options.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    start = comma + 1;
  }
  return sys::mount_detached("tmpfs", options, attrs);
}

// What the child would run beneath /dev (the device binds, the links), run here beneath the
// detached tmpfs; the links then belong to container root, as the child's would.
bool fill(int dev, const DevTree& tree, uid_t uid, gid_t gid) {
  std::vector<int> sources(tree.inside.size(), -1);
  int failed = -1;
  int err = open_bind_sources(tree.inside, sources, &failed);
  if (err == 0) err = execute_mount_ops(dev, tree.inside, sources, -1, &failed);
  // execute_mount_ops closes each source as its op ends; what a failure left is ours.
  for (size_t i = failed < 0 ? sources.size() : static_cast<size_t>(failed); i < sources.size(); ++i) {
    if (sources[i] >= 0) ::close(sources[i]);
  }
  if (err != 0) {
    errno = err;
    return false;
  }
  for (const MountOp& op : tree.inside) {
    if (op.kind == MountKind::kSymlink && ::fchownat(dev, op.target.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return false;
    }
  }
  return true;
}

// Mount points of the rest of /dev's own ops (devpts, shm, mqueue, up to the one that makes
// /dev read-only), which the child mounts: this tree is read-only once sent.
bool make_mount_points(int dev, std::span<const MountOp> after, uid_t uid, gid_t gid) {
  for (const MountOp& op : after) {
    if (op.kind == MountKind::kReadOnly && op.target == "dev") break;
    std::string_view name = name_in_dev(op.target);
    if (name.empty() || op.target_kind != TargetKind::kDirectory) return false;
    std::string entry(name);
    if (::mkdirat(dev, entry.c_str(), 0755) != 0 || ::fchownat(dev, entry.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

UniqueFd build_dev_tree(const RootPlan& plan, uid_t uid, gid_t gid) noexcept {
  if (!plan.dev) return {};
  try {
    UniqueFd dev = new_tmpfs(plan.dev->tmpfs, uid, gid);
    mount_attr read_only = {};
    read_only.attr_set = MOUNT_ATTR_RDONLY;
    if (dev && fill(dev.get(), *plan.dev, uid, gid) &&
        make_mount_points(dev.get(), std::span(plan.root_ops).subspan(plan.dev_at), uid, gid) &&
        sys::raw_mount_setattr(dev.get(), "", AT_EMPTY_PATH, &read_only) == 0) {
      return dev;
    }
    spdlog::debug("the child builds /dev itself: {}", std::strerror(errno));
  } catch (const std::exception& e) {
    spdlog::debug("the child builds /dev itself: {}", e.what());
  }
  return {};
}

}  // namespace nucleus::native
