// A native container's network beyond its loopback: netd's bridge or pasta (native_network.h).
#include "backends/native/native_network.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

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
  return !spec.has(NamespaceType::kUser) || (spec.process.capabilities.any() & kNetCaps) == 0;
}

constexpr const char* kEtcStep = "prepare the container's /etc files";

// A small tmpfs of our own, detached: no path on the host, gone with the last of its
// mounts (ours, and the files the container has attached).
UniqueFd detached_tmpfs() {
  UniqueFd tree = sys::mount_detached("tmpfs", {{"size", "64k"}, {"mode", "0755"}},
                                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (!tree) throw_errno(kEtcStep, "mount a tmpfs");
  return tree;
}

using Files = std::array<UniqueFd, std::size(kBridgeEtcFiles)>;

// Each file made empty in `dir` (kept open in `files`, for its content later) and cloned as
// a mount of its own. false: the kernel clones nothing of a detached mount (before 6.15:
// only of the caller's own mount namespace).
bool make_files(int dir, Files& files, Files& trees) {
  for (size_t i = 0; i < std::size(kBridgeEtcFiles); ++i) {
    const char* name = kBridgeEtcFiles[i];
    // Readable by the container's users (others: root here is nobody in its user namespace).
    files[i] = UniqueFd(::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!files[i] || ::fchmod(files[i].get(), 0644) != 0) throw_errno(kEtcStep, name);
    trees[i] = UniqueFd(sys::raw_open_tree(dir, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!trees[i] && errno == EINVAL && i == 0) return false;
    if (!trees[i]) throw_errno(kEtcStep, std::string("open_tree ") + name);
  }
  return true;
}

}  // namespace

NetworkEtcFiles NetworkEtcFiles::make(const std::string& record_dir) {
  NetworkEtcFiles f;
  const char* where = std::getenv("NUCLEUS_BRIDGE_ETC");
  if (where == nullptr || std::string_view(where) != "record") {
    UniqueFd tmpfs = detached_tmpfs();
    if (make_files(tmpfs.get(), f.files_, f.trees_)) return f;
  }
  // In the record, cloned from there (a mount of our own namespace, which every kernel
  // clones); unlinked once the child has attached them (forget_record_copies).
  f.record_etc_ = record_dir + "/etc";
  if (::mkdir(f.record_etc_.c_str(), 0755) != 0) throw_errno(kEtcStep, f.record_etc_);
  UniqueFd dir = sys::open(f.record_etc_, O_PATH | O_DIRECTORY | O_CLOEXEC, kEtcStep);
  if (!make_files(dir.get(), f.files_, f.trees_)) throw_errno(kEtcStep, "open_tree " + f.record_etc_);
  return f;
}

NetworkEtcFiles NetworkEtcFiles::given(std::vector<UniqueFd> trees) {
  NetworkEtcFiles f;
  for (size_t i = 0; i < f.trees_.size() && i < trees.size(); ++i) f.trees_[i] = std::move(trees[i]);
  return f;
}

void NetworkEtcFiles::forget_record_copies() const noexcept {
  if (record_etc_.empty()) return;
  for (const char* name : kBridgeEtcFiles) ::unlink((record_etc_ + "/" + name).c_str());
  ::rmdir(record_etc_.c_str());
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
  if (!ours()) return;  // a standby's: netd wrote them
  for (size_t i = 0; i < std::size(kBridgeEtcFiles); ++i) {
    // In place: the container has the file attached already, which holds the inode.
    const std::string& text = *contents[i];
    if (::ftruncate(files_[i].get(), 0) != 0 ||
        ::pwrite(files_[i].get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      throw_errno("write the container's /etc files", kBridgeEtcFiles[i]);
    }
  }
}

// NET_ADMIN, NET_RAW or SYS_ADMIN in any set: routes, addresses, links, raw sockets'
// filters, the namespace's own nftables or its net.* settings could change.
bool could_change_the_namespace(const CapabilitySets& c) {
  constexpr CapSet kChangesTheNamespace =
      (CapSet{1} << CAP_NET_ADMIN) | (CapSet{1} << CAP_NET_RAW) | (CapSet{1} << CAP_SYS_ADMIN);
  return (c.any() & kChangesTheNamespace) != 0;
}

// Whether the prepared namespace may serve a later container once this one has ended
// (docs/networking.md, "Recycled namespaces"). Only when nothing of the container can
// outlive its init, and nothing of it could have changed the namespace itself, since
// netd's own checks at the end (no socket left in it, no process in it) cannot see a changed
// setting:
//  - a pid namespace of its own: the kernel ends every process in it before the init's end
//    is seen (a joined or the host's would leave processes in the namespace);
//  - no NET_ADMIN, NET_RAW or SYS_ADMIN: routes, addresses, links, raw sockets' filters
//    and the namespace's own nftables stay as netd made them;
//  - /proc/sys read-only and no sysctl of the config's: the namespace's net.* settings too;
//  - no way to pass a file out to a process of its own outside it: an open file of the
//    namespace's /proc/net (its sockets, routes, neighbours, always the namespace's current
//    ones) held there would show the next container's. Unix sockets are the way, and one can
//    be reached wherever the host's files are (a read-only mount does not stop a connect):
//    so only an image's root, no bind mount of the host's, no NOTIFY_SOCKET.
bool namespace_recyclable(const ContainerSpec& spec) {
  const NamespaceSpec* pid = spec.find(NamespaceType::kPid);
  const bool proc_sys_read_only =
      std::find(spec.readonly_paths.begin(), spec.readonly_paths.end(), "/proc/sys") != spec.readonly_paths.end();
  auto is_bind = [](const MountSpec& m) {
    return m.type == "bind" || std::any_of(m.options.begin(), m.options.end(), [](const std::string& o) { return o == "bind" || o == "rbind"; });
  };
  const bool host_files = spec.root.path.empty() || std::any_of(spec.mounts.begin(), spec.mounts.end(), is_bind);
  // A test's ablation of a layer (plan/host_context.cc) may have dropped the read-only /proc/sys.
  const bool ablated = std::getenv("NUCLEUS_TEST_ABLATE") != nullptr;
  return takes_prepared_namespace(spec) && pid != nullptr && pid->path.empty() &&
         !could_change_the_namespace(spec.process.capabilities) && proc_sys_read_only && spec.sysctl.empty() && !host_files &&
         !spec.sd_notify && !ablated;
}

net::ContainerNetwork order_network(const ContainerSpec& spec, const std::string& id, const std::string& root) {
  net::ContainerNetwork network = net::ContainerNetwork::prepare(
      *spec.bridge, id,
      {.state_dir = net::network_state_dir(root),
       .take_prepared_namespace = takes_prepared_namespace(spec),
       .recyclable = namespace_recyclable(spec)});
  timing::mark("network ordered");
  return network;
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
  if (files.ours()) files.write(s.network->etc_files());
  timing::mark("network attached");
}

// --network pasta (or bridge asked without root): pasta configures the container's network
// namespace and carries its traffic through sockets of the caller's (network/client/user_mode.h).
// pasta joins the namespaces of the container's init; it needs a user namespace it may
// enter, which a non-root caller's container always has (root's: --runas 0).
void attach_user_network(NativeSession& s, pid_t init, const std::string& id, const std::string& root) {
  s.user_network.emplace(net::UserModeNetwork::attach(*s.spec.bridge, init, id,
                                                      {.state_dir = net::network_state_dir(root), .caller_is_root = ::geteuid() == 0}));
  timing::mark("user-mode network attached");
}

}  // namespace nucleus::native
