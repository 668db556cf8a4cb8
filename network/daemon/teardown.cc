#include "network/daemon/teardown.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/firewall/ruleset.h"
#include "network/ipam/recycle_marks.h"
#include "network/naming.h"
#include "network/netlink/conntrack.h"
#include "network/netlink/links.h"

namespace nucleus::net {
namespace {

bool wait_for_exit(int pidfd, int timeout_ms) {
  pollfd p{pidfd, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// A netd tears down at idle priority when its container is done with the network
// (network/daemon/main.cc, Keeper), giving way to the starts around it: not once someone
// waits for it. Only a netd's own policy is changed (SCHED_IDLE, which nothing else of
// ours uses); called while its pidfd says it has not exited, so the pid is still its own.
void lift_if_idle(pid_t owner) {
  if (::sched_getscheduler(owner) != SCHED_IDLE) return;
  sched_param normal{};
  ::sched_setscheduler(owner, SCHED_OTHER, &normal);
}

// Waits up to timeout_ms for the owner behind pidfd to exit, or to give up the lease
// (`still_holds` false: a recycled namespace's standby renamed it, docs/networking.md), lifting
// it whenever it went (back) to idle priority meanwhile: it may only now be starting its
// teardown. True when it is done with the lease.
bool wait_lifting(int pidfd, pid_t owner, int timeout_ms, const std::function<bool()>& still_holds = [] { return true; }) {
  constexpr int kSliceMs = 5;
  for (int waited = 0; waited < timeout_ms; waited += kSliceMs) {
    lift_if_idle(owner);
    if (wait_for_exit(pidfd, std::min(kSliceMs, timeout_ms - waited)) || !still_holds()) return true;
  }
  return false;
}

// Whether the lease of id is still owner's.
bool holds(const LeaseStore& store, const std::string& id, const LeaseOwner& owner) {
  try {
    std::optional<Lease> lease = store.find(id);
    return lease && lease->owner.pid == owner.pid && lease->owner.start_time == owner.start_time;
  } catch (const Error&) {
    return true;  // unreadable: as if it were
  }
}

// Signals the owner of id's lease only if the pid still names the process that took it,
// and the lease is still its: under the store's lock, which a recycled namespace's standby
// takes to rename the lease, so that a stop meant for the container it served is pending
// (and dropped) by then, never one for the next container it serves. Returns at once when
// the lease is given up (renamed) meanwhile: the network of id is gone then.
void stop_owner(LeaseStore& store, const std::string& id, const LeaseOwner& owner) {
  int pidfd = sys::raw_pidfd_open(owner.pid);
  if (pidfd < 0) return;
  UniqueFd fd(pidfd);
  if (!owner.alive()) return;  // checked after the pidfd exists: no reuse in between
  {
    LeaseStore::Lock lock(store);
    if (!holds(store, id, owner)) return;
    sys::raw_pidfd_send_signal(fd.get(), SIGTERM);
  }
  auto still_holds = [&] { return holds(store, id, owner); };
  if (wait_lifting(fd.get(), owner.pid, 5000, still_holds) || !still_holds()) return;
  sys::raw_pidfd_send_signal(fd.get(), SIGKILL);
  wait_for_exit(fd.get(), 5000);
}

}  // namespace

void teardown_lease(LeaseStore& store, Nftables& nft, const Lease& lease) {
  bool complete = true;
  try {
    if (nft.table_exists("inet " + std::string(kTable)) || nft.table_exists("bridge " + std::string(kTable))) {
      nft.run_each_if_batch_fails(ruleset::container_removal(lease));
    }
  } catch (const Error& e) {
    std::cerr << "nucleus-netd: " << e.what() << "\n";
    complete = false;
  }
  try {
    NetlinkSocket host;
    delete_link(host, names_for_key(lease.key).host_veth);
  } catch (const Error& e) {
    std::cerr << "nucleus-netd: " << e.what() << "\n";
    complete = false;
  }
  // Its flows go before its addresses may serve another container (network/netlink/
  // conntrack.h): when they cannot, the lease stays for the next collection to try again.
  // A kernel without ctnetlink keeps them: said, and the lease goes (it would never go).
  try {
    if (complete && !flush_conntrack_of({lease.address4, lease.address6})) {
      std::cerr << "nucleus-netd: no ctnetlink in this kernel: the tracked flows of " << lease.address4.to_string()
                << " stay until they expire\n";
    }
  } catch (const Error& e) {
    std::cerr << "nucleus-netd: " << e.what() << "\n";
    complete = false;
  }
  if (complete) store.remove(lease);
}

bool cleanup_container_network(LeaseStore& store, Nftables& nft, const std::string& id) {
  std::optional<Lease> lease = store.find(id);
  if (!lease) return false;
  stop_owner(store, id, lease->owner);
  if (std::optional<Lease> left = store.find(id)) teardown_lease(store, nft, *left);
  return true;
}

void wait_for_releasing_owner(const LeaseStore& store, const std::string& id, int timeout_ms) {
  std::optional<Lease> held;
  try {
    held = store.find(id);
  } catch (const Error&) {
    return;  // unreadable: allocate says so
  }
  if (!held || held->owner.pid == ::getpid()) return;
  int pidfd = sys::raw_pidfd_open(held->owner.pid);
  if (pidfd < 0) return;
  UniqueFd fd(pidfd);
  if (held->owner.alive()) wait_lifting(fd.get(), held->owner.pid, timeout_ms, [&] { return holds(store, id, held->owner); });
}

std::vector<Lease> leases_in_use(std::vector<Lease> leases, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<Lease> in_use;
  for (Lease& lease : leases) {
    int fd = sys::raw_pidfd_open(lease.owner.pid);
    if (fd < 0) continue;  // its owner is gone: stale, not in use
    UniqueFd pidfd(fd);
    if (!lease.owner.alive()) continue;  // checked once the pidfd exists: no reuse in between
    if (::sched_getscheduler(lease.owner.pid) != SCHED_IDLE) {
      in_use.push_back(std::move(lease));
      continue;
    }
    // Releasing: lifted while waited for, until the netd is gone (its lease goes last).
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const bool gone = left.count() > 0 && wait_lifting(pidfd.get(), lease.owner.pid, static_cast<int>(left.count()));
    if (!gone) in_use.push_back(std::move(lease));
  }
  return in_use;
}

size_t collect_stale_leases(LeaseStore& store, Nftables& nft) {
  size_t collected = 0;
  for (const Lease& lease : store.list()) {
    if (lease.owner.alive()) continue;
    teardown_lease(store, nft, lease);
    ++collected;
  }
  if (collected > 0) sweep_recyclable_index(store.index_dir());
  return collected;
}

bool remove_idle_bridge(LeaseStore& store, Nftables& nft, const std::string& bridge) {
  LeaseStore::Lock lock(store);
  if (!store.list().empty()) return false;  // the tables serve every lease, of any bridge
  nft.run_each_if_batch_fails({"delete table inet " + std::string(kTable), "delete table bridge " + std::string(kTable)});
  NetlinkSocket host;
  delete_link(host, bridge);
  ::unlink((store.state_dir() + "/base").c_str());
  return true;
}

}  // namespace nucleus::net
