#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "config/network_spec.h"
#include "core/sys/scoped.h"
#include "core/sys/unique_fd.h"
#include "network/etc_files.h"
#include "network/ipam/lease_store.h"

// The API the backends call (docs/networking.md, "Integration"). It lives in nucleus's
// own (static) binary and depends on nothing but core/ and config/: the netlink, nftables
// and DNS work happens in nucleus-netd, which attach() starts and talks to.
namespace nucleus::net {

inline constexpr const char* kDefaultStateDir = "/run/nucleus/.network";
// The network state of the containers under a state root (nucleus --root).
inline std::string network_state_dir(const std::string& root) { return root + "/.network"; }

struct AttachOptions {
  std::string state_dir = kDefaultStateDir;
  // nucleus-netd; empty: next to /proc/self/exe.
  std::string helper;
  // The container's init (a pidfd), for attach(): after detach() the helper keeps the
  // network until it ends. -1: the network lives only as long as this ContainerNetwork (or
  // its process).
  int container_pidfd = -1;
  // Where the helper's stderr goes; empty: <state_dir>/<key>.log.
  std::string log_file;
  // Through the resident netd (started on demand; network/daemon/server.h); false: a netd
  // of this process's own, by fork + exec (also what happens when the server is out of reach).
  bool resident = true;
  // The caller can run the container in a namespace netd prepared ahead
  // (prepared_namespace()); false: it always makes its own.
  bool take_prepared_namespace = false;
  // The namespace may serve a later container once this one ends (AttachOrder::recyclable).
  bool recyclable = false;
};

// Bad input, before anything exists: the request's own checks plus the host's routes (a
// bridge subnet overlapping one) and published ports already taken. Throws Error (125).
// The routes are read only for a bridge configuration other than the one netd's bridge
// under state_dir serves (recorded_bridge_configuration): that one passed this check when
// a start asked for it first, and its own routes are on the bridge.
void check_network_request(const NetworkRequest& request, const std::string& state_dir = kDefaultStateDir);

class ContainerNetwork {
 public:
  // The attach in two parts, so that netd prepares everything but the container's side
  // while the container is being made: prepare() as soon as its id is ours (the lease,
  // the rules and the forwarder's sockets are made meanwhile; returns at once), enter()
  // once its network namespace exists and before the workload runs (the veth, its peer
  // made in that namespace and configured; waits for netd's report). From the process that will wait for the
  // container (single-threaded: it may fork and exec the helper). enter() throws Error
  // (exit 125) with nothing left behind when any part cannot be put in place; a network
  // prepared but never entered is torn down when dropped.
  static ContainerNetwork prepare(const NetworkRequest& request, const std::string& container_id,
                                  const AttachOptions& options = {});
  void enter(int netns_fd, int container_pidfd = -1);
  // enter() in two halves, so that the caller does its own work while netd makes the veth:
  // give_namespace() as soon as the namespace exists (returns at once; the fds may be
  // closed after it), wait_attached() before the workload runs (throws as enter() does).
  void give_namespace(int netns_fd, int container_pidfd = -1);
  void wait_attached();
  // Whether netd's report is there to read already (wait_attached() would not wait).
  bool report_ready() const;
  // Readable once the report is there (or netd is gone): for a caller's own poll.
  int report_fd() const { return control_.get(); }
  // Before the container's namespaces exist, with take_prepared_namespace: the network
  // namespace netd prepared for it (eth0 configured, its rules in place), which the
  // container must join instead of making its own, and whose fd it then gives to
  // give_namespace() as usual; empty: none was ready (or none may be taken), the container
  // makes its own. With it, when the standby could make them, a sysfs of that namespace
  // and the container's /etc files (mounts, in kEtcFileNames' order), whose content netd
  // writes before its report. Once only.
  struct Prepared {
    UniqueFd netns, sysfs;
    std::vector<UniqueFd> etc_files;  // empty, or one per kEtcFileNames
  };
  Prepared prepared_namespace();

  // Both at once (options.container_pidfd for enter).
  static ContainerNetwork attach(const NetworkRequest& request, int netns_fd, const std::string& container_id,
                                 const AttachOptions& options = {});

  ContainerNetwork() = default;
  ~ContainerNetwork();  // release(), errors swallowed
  ContainerNetwork(ContainerNetwork&&) noexcept = default;
  ContainerNetwork& operator=(ContainerNetwork&&) noexcept;
  ContainerNetwork(const ContainerNetwork&) = delete;
  ContainerNetwork& operator=(const ContainerNetwork&) = delete;

  const IpAddress& address4() const { return lease_.address4; }
  const IpAddress& address6() const { return lease_.address6; }
  const IpAddress& gateway4() const { return lease_.gateway4; }
  const IpAddress& nameserver() const { return lease_.gateway4; }
  const std::string& host_interface() const;
  // The netd keeping this network (a child of the resident server, or of this process).
  pid_t helper_pid() const { return lease_.owner.pid; }
  const Lease& lease() const { return lease_; }

  // /etc/resolv.conf, /etc/hosts and /etc/hostname for the container, written into dir.
  EtcFiles etc_files() const;
  void write_etc_files(const std::string& dir) const;

  // Tells the helper to tear everything down (veth, rules, forwarder, then the lease) and
  // returns without waiting for it: the lease, held until all of it is gone, is what says
  // it is done.
  void release();
  // Leaves the network to the helper, which keeps it until the container's pidfd (given to
  // attach) reports its end: for a container outliving this process.
  void detach();

 private:
  Lease lease_;  // empty until enter() succeeded
  std::string id_, log_;
  bool namespace_given_ = false;
  bool answer_pending_ = false;  // the server's kReplyPrepared / kReplyFresh not read yet
  std::string hostname_;
  std::vector<ExtraHost> extra_hosts_;
  UniqueFd control_;
  OwnedChild helper_;
  mutable std::string host_interface_;
};

// What the cleanup keeper runs after a kill -9 (idempotent; nothing to do is fine): the
// helper is stopped if it lives, then the veth, the rules and the lease go. Runs
// `nucleus-netd cleanup`; blocks until it is done.
void cleanup_container_network(const std::string& container_id, const std::string& state_dir = kDefaultStateDir,
                               const std::string& helper = "");
// Before `nucleus exec` starts a process that could change the container's network
// namespace (its capabilities): that namespace then serves no later container
// (docs/networking.md, "Recycled namespaces"). Throws Error when it cannot be said.
void keep_from_recycling(const std::string& container_id, const std::string& state_dir = kDefaultStateDir);
// The lease container_id holds while its network is attached (its addresses, published
// ports), for `inspect`; nullopt when none. Reads only: makes no state directory.
std::optional<Lease> attached_lease(const std::string& container_id, const std::string& state_dir = kDefaultStateDir);
// Stops the resident netd servers of state_dir (SIGTERM; the containers' netds, their
// children, go on). Returns how many were signalled.
int stop_network_servers(const std::string& state_dir = kDefaultStateDir);
// Tears down the networks whose helper died; with remove_idle_bridge, also the bridge and
// nucleus's tables when no container uses them.
void collect_stale_networks(const std::string& state_dir = kDefaultStateDir, const std::string& remove_idle_bridge = "",
                            const std::string& helper = "");

}  // namespace nucleus::net
