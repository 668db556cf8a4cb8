#include "network/daemon/standby.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/daemon/attach.h"
#include "network/daemon/keeper.h"
#include "network/daemon/prepared_mounts.h"
#include "network/daemon/recycle.h"
#include "network/daemon/teardown.h"
#include "network/firewall/ruleset.h"
#include "network/etc_files.h"
#include "network/host_network.h"
#include "network/ipam/recycle_marks.h"
#include "network/naming.h"
#include "network/protocol.h"
#include "network/standby_policy.h"

namespace nucleus::net {
namespace {

namespace asio = boost::asio;

// A new network namespace, held by the returned fd; this process stays in its own.
UniqueFd make_network_namespace() {
  UniqueFd own = sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open netd's network namespace");
  if (::unshare(CLONE_NEWNET) != 0) throw_errno("prepare a network namespace", "unshare");
  UniqueFd made = sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open the prepared network namespace");
  if (::setns(own.get(), CLONE_NEWNET) != 0) ::_exit(125);  // netd in the wrong namespace must not go on
  return made;
}

// Its lease becomes the container's (docs/networking.md, "Prepared namespaces"); the same
// checks as a fresh attach: a valid id, not attached already (a dead holder's collected
// first), a previous network of that id gone.
void take_over(AttachedNetwork& attached, const AttachOrder& order, Nftables& nft, LeaseStore& store, PreparedMounts& mounts) {
  if (auto problem = check_network_id(order.id)) throw Error("container id " + order.id, *problem);
  wait_for_releasing_owner(store, order.id, 5000);
  NetworkRequest request = order.request;  // its host ports 0 become the ones held
  // What the standby did not prepare: the order's published ports (held from now on: no
  // host program takes them), its egress policy (rules and names). The lease names them
  // before the rules exist, so a teardown from here on removes them.
  const Lease prepared = attached.lease;
  const bool own_rules = request.enforces_policy() || !request.publish.empty();
  if (own_rules) {
    try {
      attached.held_ports = hold_published_ports(request.publish);
    } catch (const Error&) {
      forget_refused_log(store, order.id);
      throw;
    }
    attached.lease.publish = request.publish;
    attached.lease.policy = request.enforces_policy();
  }
  {
    // The check and the hand-over in one hold of the lock, as allocate makes them: two
    // starts of one id never both hold a lease.
    LeaseStore::Lock lock(store);
    if (store.find(order.id)) {
      collect_stale_leases(store, nft);
      if (store.find(order.id)) throw Error("network of " + order.id, "already attached");
    }
    // A start of another configuration may have rebuilt the bridge since this standby was
    // prepared (it does once no container uses the old one): never handed out then.
    if (!records_bridge_configuration(store.state_dir(), request)) {
      throw Error("bridge " + request.bridge, "its configuration changed while this start was prepared; start it again");
    }
    check_ports_unpublished(store, request.publish, order.id);
    try {
      store.hand_over(lock, attached.lease, order.id);
    } catch (const Error& e) {
      // A file at the id's name that find() did not take for the id's: a dead holder's (a
      // hand-over killed halfway) is collected; a live one's is another id of the same key.
      if (e.err() != EEXIST) throw;
      collect_stale_leases(store, nft);
      store.hand_over(lock, attached.lease, order.id);
    }
  }
  if (own_rules) {
    nft.run(ruleset::container_rules_replacing(prepared, attached.lease, request), "apply the network policy of " + order.id);
    if (request.enforces_policy()) attached.forwarder->set_policy(dns::NamePolicy(request.egress));
  }
  // The host's resolvers as they are now, or the container's own.
  attached.forwarder->set_upstreams(request.resolvers.empty() ? read_resolvers() : request.resolvers);
  // The /etc files nucleus attached (when this standby made them): what its own would say.
  const Lease& l = attached.lease;
  mounts.write(make_etc_files(request.hostname, l.address4, l.address6, l.gateway4, request.extra_hosts, {l.gateway4, l.gateway6}));
}

// Offers the standby's namespace to the server and waits for the container it is handed;
// then takes it over (the attach's fds at their numbers). false: the server left, or the
// take-over failed (reported to nucleus); everything made is torn down then.
bool offer_and_take_over(int server, int netns, AttachedNetwork& attached, Nftables& nft, LeaseStore& store,
                         PreparedMounts& mounts, AttachOrder& order) {
  // Normal priority from here: the take-over is a start's, and the mounts below take the
  // kernel's mount lock, which a starting or ending container waits for (held at idle
  // priority, a busy machine would leave it held for milliseconds).
  sched_param normal{};
  ::sched_setscheduler(0, SCHED_OTHER, &normal);
  // The namespace, and the container's sysfs and /etc files when they can be made here.
  std::vector<int> offer = {netns};
  if (mounts.renew(netns)) {
    for (int fd : mounts.offered()) offer.push_back(fd);
  }
  const bool sent = sys::send_with_fds(server, kStandbyReady.data(), kStandbyReady.size(), offer.data(), offer.size()) == 0;
  mounts.forget_offered();
  if (!sent) {
    release_network(attached, nft, store);
    return false;
  }
  try {
    // Said after the server has it queued: whoever reads this lease and then starts a
    // container finds the server knowing this standby ready.
    attached.lease.standby_ready = true;
    LeaseStore::Lock lock(store);
    store.rewrite(lock, attached.lease);
  } catch (const Error& e) {
    std::cerr << "nucleus-netd standby: " << e.what() << "\n";
    release_network(attached, nft, store);
    return false;  // our socket closes: the server drops this standby
  }
  char word[16];
  int fds[3];
  size_t count = 0;
  ssize_t n = sys::recv_with_fds(server, word, sizeof word, fds, 3, &count);
  if (n != static_cast<ssize_t>(kServerAttach.size()) || kServerAttach != std::string_view(word, static_cast<size_t>(n)) || count != 3) {
    for (size_t i = 0; i < count; ++i) ::close(fds[i]);
    release_network(attached, nft, store);  // the server left
    return false;
  }
  if (::dup2(fds[0], 2) < 0 || ::dup2(fds[1], kOrderFd) < 0 || ::dup2(fds[2], kControlFd) < 0) ::_exit(125);
  for (int fd : {fds[0], fds[1], fds[2]}) ::close(fd);
  try {
    order = order_from_json(read_order());
    take_over(attached, order, nft, store, mounts);
  } catch (const Error& e) {
    release_network(attached, nft, store);
    send_control(report_error(e));
    return false;
  }
  return true;
}

}  // namespace

// A standby (docs/networking.md, "Prepared namespaces"): at idle CPU priority, a namespace
// with eth0 on the bridge, a lease, the rules without a policy and the forwarder's sockets,
// the container's sysfs and /etc files; then its namespace to the server, and a wait for
// the container it is handed (or the server's end: everything made goes). A container
// whose order allows it hands the namespace back when it ends ("Recycled namespaces"):
// checked, reset, offered again.

int stand_by(int server_fd, const std::string& state_dir, const NetworkRequest& request) {
  sigset_t stops = block_stops();
  // The attach's numbers (3 order, 4 control) are held by /dev/null until a container comes:
  // what the standby opens meanwhile (the forwarder's sockets, netlink) stays clear of them.
  // Its stderr, the server's log, is kept for the time between two containers.
  int server = ::fcntl(server_fd, F_DUPFD_CLOEXEC, 10);
  int server_log = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
  UniqueFd null = sys::open("/dev/null", O_RDWR | O_CLOEXEC, "open /dev/null");
  if (server < 0 || server_log < 0 || ::dup2(null.get(), kOrderFd) < 0 || ::dup2(null.get(), kControlFd) < 0) return 125;
  sched_param idle{};
  ::sched_setscheduler(0, SCHED_IDLE, &idle);  // LeaseStore::Lock lifts it while it holds the lock
  Nftables nft;
  asio::io_context io;
  LeaseStore store(state_dir);
  AttachedNetwork attached;
  UniqueFd netns;
  Recycling recycling;
  try {
    netns = make_network_namespace();
    LeaseOwner self = LeaseOwner::self();
    recycling.standby_id = standby_id(self.pid, self.start_time);
    // Listed at once (recycle_marks.h): a container that joins it before its lease names it
    // is refused, as one being prepared; a teardown from the lease on takes the entry.
    struct stat made {};
    if (::fstat(netns.get(), &made) != 0) throw_errno("note the prepared network namespace");
    const std::string key = network_key(recycling.standby_id);
    index_recyclable(store, made.st_ino, key, self);
    ScopeExit unlist([&] { unindex_recyclable(store, made.st_ino, key); });
    attached = prepare_network({recycling.standby_id, state_dir, request}, io, nft, store);
    // On the lease's file with the first offer's rewrite, before any container can hold it
    // (a joiner finds the lease by it); a teardown from here takes the entry, and a
    // collection after a kill before that offer sweeps it (its netd gone).
    attached.lease.netns_inode = made.st_ino;
    unlist.dismiss();
    link_namespace(attached, netns.get(), nft, store);
  } catch (const Error& e) {  // what was made is undone already
    std::cerr << "nucleus-netd standby: " << e.what() << "\n";
    return e.exit_code();
  }
  try {
    recycling.baseline = namespace_baseline(netns.get());
  } catch (const Error& e) {
    std::cerr << "nucleus-netd standby: " << e.what() << "\n";
    release_network(attached, nft, store);
    return e.exit_code();
  }
  recycling.netns = netns.get();
  recycling.log = server_log;
  recycling.request = request;
  PreparedMounts mounts = PreparedMounts::make();
  for (;;) {
    AttachOrder order;
    if (!offer_and_take_over(server, netns.get(), attached, nft, store, mounts, order)) return 0;
    int status = keep_attached(io, attached, nft, store, stops, recycling.baseline.inode,
                               order.recyclable ? &recycling : nullptr);
    if (status != kRecycled) return status;
    // A standby again: the attach's numbers back to /dev/null, the log back to the server's.
    if (::dup2(null.get(), kOrderFd) < 0 || ::dup2(null.get(), kControlFd) < 0 || ::dup2(server_log, STDERR_FILENO) < 0) {
      ::_exit(125);
    }
    io.restart();
  }
}

}  // namespace nucleus::net
