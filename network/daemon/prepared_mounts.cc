#include "network/daemon/prepared_mounts.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/netlink/netns.h"

namespace nucleus::net {
namespace {

constexpr unsigned kLocked = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

// A sysfs whose network devices are those of netns_fd's namespace (sysfs takes the
// namespace of whoever opens its filesystem context), read-only as the root's would be.
UniqueFd sysfs_of(int netns_fd) {
  try {
    NetnsSwitch inside(netns_fd);
    return sys::mount_detached("sysfs", {}, MOUNT_ATTR_RDONLY | kLocked);
  } catch (const Error&) {
    return {};  // not entered: none offered
  }
}

}  // namespace

PreparedMounts PreparedMounts::make() {
  PreparedMounts m;
  // Three small files at a time (128 --add-host lines fit many times over).
  m.tmpfs_ = sys::mount_detached("tmpfs", {{"size", "256k"}, {"nr_inodes", "64"}, {"mode", "0755"}}, kLocked);
  return m;
}

bool PreparedMounts::renew(int netns_fd) {
  sysfs_.reset();
  if (!tmpfs_) return false;
  for (size_t i = 0; i < kFiles; ++i) {
    const char* name = kEtcFileNames[i];
    ::unlinkat(tmpfs_.get(), name, 0);  // the last container's: its mounts went with it
    files_[i] = UniqueFd(::openat(tmpfs_.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    // Readable by the container's users (others: root here is nobody in its user namespace).
    if (!files_[i] || ::fchmod(files_[i].get(), 0644) != 0) return false;
    trees_[i] = UniqueFd(sys::raw_open_tree(tmpfs_.get(), name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!trees_[i]) return false;
  }
  if (!sysfs_base_) sysfs_base_ = sysfs_of(netns_fd);
  if (!sysfs_base_) return false;
  sysfs_ = UniqueFd(sys::raw_open_tree(sysfs_base_.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  return static_cast<bool>(sysfs_);
}

std::vector<int> PreparedMounts::offered() const {
  std::vector<int> fds = {sysfs_.get()};
  for (const UniqueFd& tree : trees_) fds.push_back(tree.get());
  return fds;
}

void PreparedMounts::forget_offered() {
  sysfs_.reset();
  for (UniqueFd& tree : trees_) tree.reset();
}

void PreparedMounts::write(const EtcFiles& files) {
  const std::string* contents[] = {&files.resolv_conf, &files.hosts, &files.hostname};
  static_assert(std::size(contents) == kFiles);
  for (size_t i = 0; i < kFiles; ++i) {
    if (!files_[i]) continue;  // none offered: nucleus writes its own
    const std::string& text = *contents[i];
    if (::pwrite(files_[i].get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      throw_errno("write the container's /etc files", kEtcFileNames[i]);
    }
    files_[i].reset();  // written once: the next container's are new files
  }
}

}  // namespace nucleus::net
