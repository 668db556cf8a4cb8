// A native container's network beyond its loopback: netd's bridge or pasta (native_network.h).
#include "backends/native/native_network.h"

#include <fcntl.h>
#include <linux/capability.h>
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

// --network bridge: its /etc/resolv.conf, /etc/hosts and /etc/hostname are files of the
// record, bound read-only over the root's; their content comes once the network is attached.
std::string prepare_network_files(ContainerSpec& spec, const std::string& record_dir) {
  // The child opens them as the container's root, an unprivileged host uid under a user
  // namespace: every directory above them must let others through (/run/nucleus does).
  for (std::string up = record_dir; up.size() > 1; up = up.substr(0, std::max<size_t>(up.find_last_of('/'), 1))) {
    struct stat st;
    if (::stat(up.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      throw Error("--network bridge", up + " must be searchable by others (the container reaches its /etc files below it)");
    }
    if (up.find_last_of('/') == 0) break;
  }
  const std::string dir = record_dir + "/etc";
  if (::mkdir(dir.c_str(), 0755) != 0) throw_errno("prepare the container's network files", dir);
  for (const char* name : {"resolv.conf", "hosts", "hostname"}) {
    sys::create_file(dir + "/" + name, "", 0644, "prepare the container's network files");
    spec.mounts.push_back({std::string("/etc/") + name, "bind", dir + "/" + name, {"bind", "ro", "nosuid", "nodev"}});
  }
  return dir;
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
void attach_network(NativeSession& s, const std::string& files) {
  s.network->wait_attached();
  s.network->write_etc_files(files);
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
