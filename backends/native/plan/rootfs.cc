#include "backends/native/plan/rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <span>
#include <string_view>

#include "backends/native/child/child_steps.h"
#include "backends/native/child/mount_target.h"
#include "backends/native/plan/devices.h"
#include "backends/native/plan/mounts.h"
#include "backends/native/child/handshake.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

// Places the staging tmpfs may cover, in the child's private mount namespace only.
constexpr std::string_view kStagingCandidates[] = {"/tmp", "/mnt", "/var/tmp", "/opt"};

constexpr uint64_t kViewAttr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
constexpr uint64_t kWritableAttr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

MountOp bind_op(const std::string& target, const std::string& source, uint64_t attr,
                HostEntry::Type type) {
  return {.kind = MountKind::kBind,
          .target = target,
          .source = source,
          .attr = attr,
          .target_kind = type == HostEntry::kDirectory ? TargetKind::kDirectory : TargetKind::kFile};
}

void add_host_view(std::vector<MountOp>& ops, const RootOptions& options, const HostProbe& probe) {
  const uint64_t attr = options.read_only_binds ? kViewAttr : kWritableAttr;
  for (const HostViewItem& item : host_view_items(options.network == NetworkMode::kHost, probe)) {
    switch (item.kind) {
      case HostViewItem::kSymlink:
        ops.push_back({.kind = MountKind::kSymlink, .target = item.target, .data = item.source});
        break;
      case HostViewItem::kBindDirectory:
        ops.push_back(bind_op(item.target, item.source, attr, HostEntry::kDirectory));
        break;
      case HostViewItem::kBindFile:
        ops.push_back(bind_op(item.target, item.source, attr, HostEntry::kFile));
        break;
    }
  }
}

// --network host with an image: the host's resolver and hosts files, read-only, as Docker
// gives them (the image's own know nothing of this network), over a file of the root's own
// where the image has a link; before the volumes, so that a user's bind of either wins.
void add_host_network_files(std::vector<MountOp>& ops, const HostProbe& probe) {
  for (const char* rel : {"etc/resolv.conf", "etc/hosts"}) {
    auto source = bindable_source(std::string("/") + rel, probe);  // systemd-resolved's link: its target
    if (!source || source->second != HostEntry::kFile) continue;
    MountOp op = bind_op(rel, source->first, kViewAttr, HostEntry::kFile);
    op.replace_link = true;
    ops.push_back(std::move(op));
  }
}

void add_kernel_filesystems(RootPlan& plan, const RootOptions& options) {
  std::vector<MountOp>& ops = plan.root_ops;
  constexpr unsigned long kNoExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  ops.push_back({.kind = MountKind::kProc, .target = "proc", .flags = kNoExec, .no_symlinks = true});
  if (options.network != NetworkMode::kHost) {
    // A fresh sysfs shows only this network namespace's devices.
    ops.push_back({.kind = MountKind::kSysfs, .target = "sys", .flags = kNoExec | MS_RDONLY,
                   .no_symlinks = true});
  } else {
    // With the host's network, a fresh sysfs is refused in a user namespace: share the
    // host's, read-only.
    MountOp sys = bind_op("sys", "/sys", kViewAttr | MOUNT_ATTR_NOEXEC, HostEntry::kDirectory);
    sys.no_symlinks = true;
    ops.push_back(std::move(sys));
  }
  plan.dev = plan_dev_tree();
  plan.dev_at = ops.size();
  append_dev_mounts(ops, DevOptions{.tty_group_mapped = options.tty_group_mapped});
  if (options.clamp_user_namespaces) {
    // Creating a user namespace needs no capability, so seccomp alone would stop
    // unshare(CLONE_NEWUSER); with this limit on the container's own user namespace, the
    // kernel refuses too (ENOSPC), like bubblewrap's --disable-userns. Written before
    // /proc/sys turns read-only, and never without our own user namespace (it would be
    // the host's limit).
    ops.push_back({.kind = MountKind::kWriteFile, .target = "proc/sys/user/max_user_namespaces",
                   .data = "0", .no_symlinks = true});
  }
  for (const std::string& path : options.masked_paths) {
    ops.push_back({.kind = MountKind::kMask, .target = relative(path), .no_symlinks = true});
  }
  for (const std::string& path : options.readonly_paths) {
    ops.push_back({.kind = MountKind::kReadOnlyRebind, .target = relative(path), .no_symlinks = true});
  }
}

// The spec's mounts (the default /tmp, tmpfs, volumes), in its order: parents first.
void add_user_mounts(std::vector<MountOp>& ops, const RootOptions& options, const HostProbe& probe) {
  for (size_t i = 0; i < options.mounts.size(); ++i) {
    const MountSpec& m = options.mounts[i];
    size_t first = ops.size();
    add_mount_ops(ops, m, m.type == "bind" ? "volume " + m.source : "tmpfs " + m.destination, probe, SourcePaths::kCanonical);
    if (!options.read_only_binds) {
      for (size_t k = first; k < ops.size(); ++k) ops[k].attr &= ~static_cast<uint64_t>(MOUNT_ATTR_RDONLY);
    }
  }
}

// /dev's fixed tree: attached whole when the parent has sent one ("D", dev_tree.h), else
// mounted here: the tmpfs, then the same ops the parent would have run, beneath it. The
// device nodes are opened only then (nothing ever covers the host's /dev).
int enter_dev(int root, const DevTree& dev, const RootFds& fds, int* step, int* index) noexcept {
  *index = -1;
  int tree = -1;
  if (fds.sync_fd >= 0) {
    if (int err = wait_for_dev_tree(fds.sync_fd, &tree)) {
      *step = static_cast<int>(ChildStep::kWaitForParent);
      return err;
    }
  }
  *step = static_cast<int>(ChildStep::kDevMount);
  if (tree >= 0) {
    int err = attach_detached_tree(tree, root, dev.tmpfs);
    ::close(tree);
    return err;
  }
  if (int err = execute_mount_ops(root, std::span(&dev.tmpfs, 1), {}, -1, index)) {
    *index = -1;
    return err;
  }
  int dev_fd = open_or_create_at(root, dev.tmpfs.target.c_str(), TargetKind::kDirectory, true);
  if (dev_fd < 0) return errno;
  int err = open_bind_sources(dev.inside, *fds.dev_sources, index);
  if (err == 0) err = execute_mount_ops(dev_fd, dev.inside, *fds.dev_sources, -1, index);
  ::close(dev_fd);
  return err;
}

// The root's ops, with /dev in its place among them.
int execute_root_ops(int root, const RootPlan& plan, const RootFds& fds, int* step, int* index) noexcept {
  const std::span<const MountOp> ops(plan.root_ops);
  const std::span<const int> sources(*fds.root_sources);
  const size_t at = plan.dev ? plan.dev_at : ops.size();
  *step = static_cast<int>(ChildStep::kRootMount);
  if (int err = execute_mount_ops(root, ops.first(at), sources.first(at), -1, index)) return err;
  if (plan.dev) {
    if (int err = enter_dev(root, *plan.dev, fds, step, index)) return err;
  }
  *step = static_cast<int>(ChildStep::kRootMount);
  if (int err = execute_mount_ops(root, ops.subspan(at), sources.subspan(at), -1, index)) {
    *index += static_cast<int>(at);
    return err;
  }
  return 0;
}

// What an op puts at its target: a mount, an entry of the root's own (a directory, a
// device node, a link), or nothing new (it changes what is there, or skips an absent one;
// kPropagation always follows a mount at its own target).
enum class Lands { kNothing, kEntry, kMount };
Lands what_lands(MountKind kind) {
  switch (kind) {
    case MountKind::kMkdir:
    case MountKind::kDevice:
    case MountKind::kSymlink: return Lands::kEntry;
    case MountKind::kReadOnly:
    case MountKind::kMask:
    case MountKind::kReadOnlyRebind:
    case MountKind::kWriteFile:
    case MountKind::kPropagation: return Lands::kNothing;
    default: return Lands::kMount;
  }
}

// The image's directory, below the writable layer (overlay, tmpfs upper) when there is one.
void add_image_layers(RootPlan& plan, const RootOptions& options, bool layer) {
  const char* lower_at = layer ? "lower" : "root";
  MountOp lower = options.idmapped_rootfs ? MountOp{.kind = MountKind::kMoveTree, .target = lower_at}
                                          : bind_op(lower_at, *options.rootfs, 0, HostEntry::kDirectory);
  lower.attr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | (layer ? 0 : MOUNT_ATTR_NOSUID);
  plan.staging_ops.push_back(std::move(lower));
  if (!layer) return;
  const std::string& s = plan.staging;
  plan.staging_ops.push_back({.kind = MountKind::kMkdir, .target = "upper"});
  plan.staging_ops.push_back({.kind = MountKind::kMkdir, .target = "work"});
  std::string data = "lowerdir=" + s + "/lower,upperdir=" + s + "/upper,workdir=" + s + "/work";
  if (options.user_namespace) data += ",userxattr";
  plan.staging_ops.push_back({.kind = MountKind::kOverlay, .target = "root", .data = data, .flags = MS_NOSUID | MS_NODEV});
}

// Whether the image has every mount point the root's ops land on, those beneath an
// earlier mount aside (made in that mount). Each path is probed component by component, so
// that no link of the image's is followed with the host's meaning; a link counts as
// missing (it may lead nowhere, or be replaced: MountOp::replace_link). Stricter than it
// must be for a path through a link that leads somewhere (/var/run -> /run): that image
// gets the layer, which costs a little, never a failure.
bool image_has_mount_points(const RootPlan& plan, const std::string& rootfs, const HostProbe& probe) {
  std::vector<std::string_view> mounted;
  std::vector<std::string> directories;  // checked already
  auto beneath = [](std::string_view path, std::string_view dir) {
    return path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
  };
  auto in_image = [&](const std::string& target) {
    for (size_t end = target.find('/'); end != std::string::npos; end = target.find('/', end + 1)) {
      std::string dir = target.substr(0, end);
      if (std::find(directories.begin(), directories.end(), dir) != directories.end()) continue;
      auto entry = probe(rootfs + "/" + dir);
      if (!entry || entry->type != HostEntry::kDirectory) return false;
      directories.push_back(std::move(dir));
    }
    auto entry = probe(rootfs + "/" + target);
    return entry && entry->type != HostEntry::kSymlink;
  };
  auto check = [&](const MountOp& op) {
    const Lands lands = what_lands(op.kind);
    if (lands == Lands::kNothing || op.target.empty()) return true;
    if (std::any_of(mounted.begin(), mounted.end(), [&](std::string_view m) { return beneath(op.target, m); })) {
      return true;
    }
    // A device node is made anew over the image's (make_device): a write either way.
    if (op.kind == MountKind::kDevice || !in_image(op.target)) return false;
    if (lands == Lands::kMount) mounted.push_back(op.target);
    return true;
  };
  for (size_t i = 0; i < plan.root_ops.size(); ++i) {
    if (plan.dev && i == plan.dev_at && !check(plan.dev->tmpfs)) return false;
    if (!check(plan.root_ops[i])) return false;
  }
  return true;
}

}  // namespace

std::string pick_staging(const HostProbe& probe) {
  for (std::string_view candidate : kStagingCandidates) {
    auto entry = probe(std::string(candidate));
    if (entry && entry->type == HostEntry::kDirectory) return std::string(candidate);
  }
  throw Error("prepare the container root", "the host has none of /tmp, /mnt, /var/tmp, /opt to stage it on");
}

RootPlan plan_root(const RootOptions& options, const HostProbe& probe) {
  RootPlan plan;
  plan.staging = pick_staging(probe);
  if (!options.rootfs) {
    add_host_view(plan.root_ops, options, probe);
  } else {
    plan.root_subdir = "root";
  }
  add_kernel_filesystems(plan, options);
  if (options.rootfs && options.network == NetworkMode::kHost) add_host_network_files(plan.root_ops, probe);
  add_user_mounts(plan.root_ops, options, probe);
  if (options.network == NetworkMode::kBridge) {
    // After the volumes, as a bind of the user's to the same path would be covered: the
    // files of a tmpfs the parent makes (native_network.h), each attached read-only, over a
    // file of the root's own where the image or the view has a link (systemd-resolved's resolv.conf).
    for (const char* file : kBridgeEtcFiles) {
      plan.root_ops.push_back({.kind = MountKind::kAttachTree, .target = std::string("etc/") + file,
                               .attr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                               .target_kind = TargetKind::kFile, .replace_link = true});
    }
  }
  if (options.workdir != "/") {
    plan.root_ops.push_back({.kind = MountKind::kMkdir, .target = options.workdir.substr(1)});
  }
  // --read-only has no layer to make a mount point in: an image that lacks one (a bridge's
  // /etc/hosts, a volume's directory) gets the writable layer after all, made read-only
  // once every mount point exists, as podman's read-only overlay is. The image itself is
  // never written.
  const bool layer = options.rootfs && (!options.read_only || !image_has_mount_points(plan, *options.rootfs, probe));
  if (options.rootfs) add_image_layers(plan, options, layer);
  if (!options.rootfs || (options.read_only && layer)) {
    // Last, once every mount point exists: the view's own tmpfs, or the layer, becomes read-only.
    plan.root_ops.push_back({.kind = MountKind::kReadOnly, .target = ""});
  }
  return plan;
}

int enter_root(const RootPlan& plan, RootFds fds, int* step, int* index) noexcept {
  *index = -1;
  auto fail = [&](ChildStep s) {
    *step = static_cast<int>(s);
    return errno;
  };
  if (!plan.chroot.empty()) {
    // The caller's mount namespace: nothing in it changes.
    if (chroot(plan.chroot.c_str()) != 0 || chdir("/") != 0) return fail(ChildStep::kPivotRoot);
    return 0;
  }
  // Nothing we mount may propagate back to the host, and nothing of the host's later
  // mounts may appear here.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(ChildStep::kPrivateMounts);
  // Sources first: the staging tmpfs may cover some of their paths.
  if (int err = open_bind_sources(plan.staging_ops, *fds.staging_sources, index)) {
    *step = static_cast<int>(ChildStep::kOpenStagingSource);
    return errno = err;
  }
  if (int err = open_bind_sources(plan.root_ops, *fds.root_sources, index)) {
    *step = static_cast<int>(ChildStep::kOpenRootSource);
    return errno = err;
  }
  if (mount("tmpfs", plan.staging.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, plan.staging_options.c_str()) != 0) {
    return fail(ChildStep::kStagingTmpfs);
  }
  int staging = open(plan.staging.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (staging < 0) return fail(ChildStep::kStagingTmpfs);
  if (int err = execute_mount_ops(staging, plan.staging_ops, *fds.staging_sources, fds.moved_tree, index)) {
    *step = static_cast<int>(ChildStep::kStagingMount);
    return errno = err;
  }
  int root = staging;
  if (!plan.root_subdir.empty()) {
    root = openat(staging, plan.root_subdir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0) return fail(ChildStep::kStagingMount);
  }
  if (int err = execute_root_ops(root, plan, fds, step, index)) return errno = err;
  // pivot_root(".", "."): the old root ends up stacked on the new one and is detached at
  // once, so no path to the host tree remains (runc's and lxc's idiom; no put_old dir).
  if (fchdir(root) != 0 || sys::raw_pivot_root(".", ".") != 0) return fail(ChildStep::kPivotRoot);
  if (umount2(".", MNT_DETACH) != 0) return fail(ChildStep::kDetachOldRoot);
  if (chdir("/") != 0) return fail(ChildStep::kPivotRoot);
  if (plan.root_propagation != 0 && mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) != 0) {
    return fail(ChildStep::kRootPropagation);
  }
  if (root != staging) ::close(root);
  ::close(staging);
  return 0;
}

}  // namespace nucleus::native
