#include "backends/native/dev_tree.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/sys.h"

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
  if (op.kind != MountKind::kTmpfs || op.target != "dev" || !mount_attrs(op.flags, &attrs)) return {};
  UniqueFd fs(sys::raw_fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) return {};
  std::string options = "source=tmpfs," + op.data + ",uid=" + std::to_string(uid) + ",gid=" + std::to_string(gid);
  for (size_t start = 0; start <= options.size();) {
    size_t comma = std::min(options.find(',', start), options.size());
    std::string item = options.substr(start, comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos) return {};
    item[eq] = '\0';
    if (sys::raw_fsconfig(fs.get(), FSCONFIG_SET_STRING, item.c_str(), item.c_str() + eq + 1, 0) != 0) return {};
    start = comma + 1;
  }
  if (sys::raw_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return {};
  return UniqueFd(sys::raw_fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
}

// The host's device node at `name`: the same source and attributes the child would bind.
bool bind_device(int dev, std::string_view name, const MountOp& op) {
  open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd source(sys::raw_openat2(AT_FDCWD, op.source.c_str(), how));
  if (!source) return false;
  UniqueFd tree(sys::raw_open_tree(source.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree) return false;
  mount_attr attr = {};
  attr.attr_set = op.attr;
  if (sys::raw_mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) return false;
  std::string file(name);
  UniqueFd point(::openat(dev, file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  return point && sys::raw_move_mount(tree.get(), "", dev, file.c_str(), MOVE_MOUNT_F_EMPTY_PATH) == 0;
}

bool build(int dev, const RootPlan& plan, uid_t uid, gid_t gid) {
  const std::span<const MountOp> ops(plan.root_ops);
  for (const MountOp& op : ops.subspan(plan.dev_tree_begin + 1, plan.dev_tree_end - plan.dev_tree_begin - 1)) {
    std::string_view name = name_in_dev(op.target);
    if (name.empty()) return false;
    std::string entry(name);
    if (op.kind == MountKind::kBind && op.target_kind == TargetKind::kFile) {
      if (!bind_device(dev, name, op)) return false;
    } else if (op.kind == MountKind::kSymlink) {
      if (::symlinkat(op.data.c_str(), dev, entry.c_str()) != 0 ||
          ::fchownat(dev, entry.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return false;
      }
    } else {
      return false;
    }
  }
  // Mount points of the rest of /dev's own ops (devpts, shm, mqueue, up to the one that
  // makes /dev read-only), which the child mounts: this tree is read-only once sent.
  for (const MountOp& op : ops.subspan(plan.dev_tree_end)) {
    if (op.kind == MountKind::kReadOnly && op.target == "dev") break;
    std::string_view name = name_in_dev(op.target);
    if (name.empty() || op.target_kind != TargetKind::kDirectory) return false;
    std::string entry(name);
    if (::mkdirat(dev, entry.c_str(), 0755) != 0 || ::fchownat(dev, entry.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return false;
    }
  }
  mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  return sys::raw_mount_setattr(dev, "", AT_EMPTY_PATH, &attr) == 0;
}

}  // namespace

UniqueFd build_dev_tree(const RootPlan& plan, uid_t uid, gid_t gid) noexcept {
  if (plan.dev_tree_end <= plan.dev_tree_begin) return {};
  try {
    UniqueFd dev = new_tmpfs(plan.root_ops[plan.dev_tree_begin], uid, gid);
    if (dev && build(dev.get(), plan, uid, gid)) return dev;
    spdlog::debug("the child builds /dev itself: {}", std::strerror(errno));
  } catch (const std::exception& e) {
    spdlog::debug("the child builds /dev itself: {}", e.what());
  }
  return {};
}

}  // namespace nucleus::native
