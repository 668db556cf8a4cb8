// A native container's network beyond its loopback: netd's bridge or pasta (native_network.h).
#include "backends/native/native_network.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/sys/sys.h"
#include "core/sys/trace_timing.h"

namespace nucleus::native {
namespace {

// The container's veth on nucleus's bridge, its addresses, rules and DNS forwarder
// (network/client/container_network.h): prepared by netd from the moment the id is ours,
// while the container is being made, and in place before the workload runs.
// A prepared namespace belongs to the host's user namespace: a container in a user namespace
// of its own has no NET_ADMIN or NET_RAW over it. One granted either makes its own, so that
// what it may do does not depend on whether a standby was ready.
bool takes_prepared_namespace(const ContainerSpec& spec) {
  constexpr CapSet kNetCaps = (CapSet{1} << CAP_NET_ADMIN) | (CapSet{1} << CAP_NET_RAW);
  const CapabilitySets& c = spec.process.capabilities;
  return !spec.has(NamespaceType::kUser) || ((c.bounding | c.permitted | c.effective | c.ambient) & kNetCaps) == 0;
}

}  // namespace

NetworkEtcFiles NetworkEtcFiles::make() {
  constexpr const char* kStep = "prepare the container's /etc files";
  UniqueFd fs(sys::raw_fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) throw_errno(kStep, "fsopen tmpfs");
  if (sys::raw_fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", "64k", 0) != 0 ||
      sys::raw_fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) != 0 ||
      sys::raw_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    throw_errno(kStep, "fsconfig tmpfs");
  }
  NetworkEtcFiles f;
  f.tmpfs_ = UniqueFd(sys::raw_fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (!f.tmpfs_) throw_errno(kStep, "fsmount tmpfs");
  for (size_t i = 0; i < std::size(kBridgeEtcFiles); ++i) {
    const char* name = kBridgeEtcFiles[i];
    // Readable by the container's users (others: root here is nobody in its user namespace).
    UniqueFd file(::openat(f.tmpfs_.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!file || ::fchmod(file.get(), 0644) != 0) throw_errno(kStep, name);
    f.trees_[i] = UniqueFd(sys::raw_open_tree(f.tmpfs_.get(), name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!f.trees_[i]) throw_errno(kStep, std::string("open_tree ") + name);
  }
  return f;
}

void NetworkEtcFiles::give_to(LaunchPlan& plan) const {
  for (size_t op = 0, next = 0; op < plan.root.root_ops.size(); ++op) {
    if (plan.root.root_ops[op].kind == MountKind::kAttachTree && next < trees_.size()) {
      plan.root_source_fds[op] = trees_[next++].get();
    }
  }
}

void NetworkEtcFiles::write(const net::EtcFiles& files) const {
  const std::string* contents[] = {&files.resolv_conf, &files.hosts, &files.hostname};
  static_assert(std::size(contents) == std::size(kBridgeEtcFiles));
  for (size_t i = 0; i < std::size(kBridgeEtcFiles); ++i) {
    // In place: the container has the file attached already, which holds the inode.
    UniqueFd file(::openat(tmpfs_.get(), kBridgeEtcFiles[i], O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!file) throw_errno("write the container's /etc files", kBridgeEtcFiles[i]);
    if (int err = sys::write_all(file.get(), contents[i]->data(), contents[i]->size())) {
      errno = err;
      throw_errno("write the container's /etc files", kBridgeEtcFiles[i]);
    }
  }
}

void prepare_network(NativeSession& s, const std::string& id, const std::string& root) {
  s.network = net::ContainerNetwork::prepare(*s.spec.bridge, id, {.state_dir = root + "/.network",
                                                                  .take_prepared_namespace = takes_prepared_namespace(s.spec)});
  timing::mark("network ordered");
}
// As soon as the container's network namespace exists: netd makes the veth while this
// process writes the id maps, sends the trees and makes the cgroup.
void give_network_namespace(NativeSession& s) {
  UniqueFd netns = sys::open("/proc/" + std::to_string(s.main().pid()) + "/ns/net", O_RDONLY | O_CLOEXEC,
                             "open the container's network namespace");
  // The init's pidfd: a container left running (detached) ends its netd when it ends.
  s.network->give_namespace(netns.get(), s.main().pidfd());
}
void attach_network(NativeSession& s, const NetworkEtcFiles& files) {
  s.network->wait_attached();
  files.write(s.network->etc_files());
  timing::mark("network attached");
}

// --network pasta (or bridge asked without root): pasta configures the container's network
// namespace and carries its traffic through sockets of the caller's (network/client/user_mode.h).
// pasta joins the namespaces of the container's init; it needs a user namespace it may
// enter, which a non-root caller's container always has (root's: --runas 0).
void attach_user_network(NativeSession& s, pid_t init, const std::string& id, const std::string& root) {
  s.user_network.emplace(net::UserModeNetwork::attach(*s.spec.bridge, init, id,
                                                      {.state_dir = root + "/.network", .caller_is_root = ::geteuid() == 0}));
  timing::mark("user-mode network attached");
}

}  // namespace nucleus::native
