#include "network/daemon/attach.h"

#include <algorithm>
#include <cstdio>
#include <unistd.h>
#include <iostream>

#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"
#include "network/daemon/teardown.h"
#include "network/firewall/ruleset.h"
#include "network/host_network.h"
#include "network/ipam/recycle_marks.h"
#include "network/naming.h"
#include "network/netlink/conntrack.h"
#include "network/netlink/links.h"
#include "network/standby_policy.h"

namespace nucleus::net {
namespace {

// Creates nucleus's tables once per host: `create table` fails when they exist, which is
// then checked rather than assumed (any other failure is an error). Racing attaches are
// fine: one creates, the other finds them.
void ensure_base_tables(Nftables& nft, const NetworkRequest& request) {
  std::string inet = ruleset::base_inet(request.bridge, request.subnet4, request.subnet6);
  if (!nft.try_run(inet) && !nft.table_exists("inet " + std::string(kTable))) {
    throw Error("create nftables table inet nucleus", nft.last_error());
  }
  if (!nft.try_run(ruleset::base_bridge()) && !nft.table_exists("bridge " + std::string(kTable))) {
    throw Error("create nftables table bridge nucleus", nft.last_error());
  }
}

// The bridge and the base tables serve one configuration at a time (the tables name the
// bridge and its subnets), recorded in <state>/base. Another configuration replaces them
// when no other container uses them, and is refused while one does.
void prepare_base(LeaseStore& store, Nftables& nft, const NetlinkSocket& host, const NetworkRequest& request,
                  const Lease& lease) {
  const std::string wanted = bridge_configuration(request);
  const std::string path = store.state_dir() + "/base";
  const std::string have = recorded_bridge_configuration(store.state_dir());
  if (have != wanted) {
    // In use: by a container other than this one, not one just ended whose netd is
    // releasing it. The server's idle standbys of the old configuration are not either (it
    // drops them as this order reaches it): they used to refuse every change, and have the
    // refused configuration's standbys refuse the next.
    std::vector<Lease> others = store.list();
    std::erase_if(others, [&](const Lease& l) { return l.id == lease.id || is_standby_lease(l); });
    if (!leases_in_use(std::move(others), 2000).empty()) {
      throw Error("bridge " + request.bridge, "nucleus's bridge is in use as '" + have + "': one bridge configuration at a time");
    }
    nft.run_each_if_batch_fails({"delete table inet " + std::string(kTable), "delete table bridge " + std::string(kTable)});
    if (std::string old = have.substr(0, have.find(' ')); !old.empty()) delete_link(host, old);
    ensure_bridge(host, request.bridge, lease);
    ensure_base_tables(nft, request);
    sys::replace_file(path, wanted, "write " + path);
    return;
  }
  ensure_bridge(host, request.bridge, lease);
}

dns::Forwarder::Grant grant_through(Nftables& nft, const std::string& key) {
  return [&nft, key](const std::vector<dns::AddressRecord>& records, const dns::NameGrant& grant) {
    std::string commands = ruleset::dns_grant(key, records, grant);
    if (commands.empty() || nft.try_run(commands)) return true;
    std::cerr << "nucleus-netd: add DNS answer to the container's sets: " << nft.last_error() << "\n";
    return false;
  };
}

std::unique_ptr<dns::Forwarder> make_forwarder(boost::asio::io_context& io, Nftables& nft, const Lease& lease,
                                               const NetworkRequest& request, uint16_t port = 0) {
  std::vector<IpAddress> upstreams = request.resolvers.empty() ? read_resolvers() : request.resolvers;
  dns::NamePolicy policy = request.enforces_policy() ? dns::NamePolicy(request.egress) : dns::NamePolicy::open();
  return std::make_unique<dns::Forwarder>(io, lease.gateway4, std::move(policy), upstreams, grant_through(nft, lease.key), port);
}

}  // namespace

void check_ports_unpublished(const LeaseStore& store, const std::vector<PortPublish>& publish, const std::string& id) {
  if (publish.empty()) return;  // most starts: no lease is read
  for (const Lease& other : store.list()) {
    if (other.id == id) continue;
    for (const PortPublish& theirs : other.publish) {
      for (const PortPublish& p : publish) {
        if (p.transport != theirs.transport || p.host_port != theirs.host_port) continue;
        const std::string port = std::to_string(p.host_port) + "/" + std::string(to_string(p.transport));
        forget_refused_log(store, id);
        throw Error("--publish " + port, "container " + other.id + " publishes host port " + port +
                                             " already (on any address: one container a port)");
      }
    }
  }
}

void forget_refused_log(const LeaseStore& store, const std::string& id) noexcept {
  try {
    if (store.find(id)) return;  // a live twin's, which the same id names too
  } catch (const Error&) {
    return;
  }
  ::unlink(store.log_path(id).c_str());
}

AttachedNetwork prepare_network(const AttachOrder& order, boost::asio::io_context& io, Nftables& nft, LeaseStore& store) {
  if (auto problem = check_network_id(order.id)) throw Error("container id " + order.id, *problem);
  NetworkRequest request = order.request;  // its host ports 0 become the ones held
  AttachedNetwork attached;
  try {
    attached.held_ports = hold_published_ports(request.publish);
  } catch (const Error&) {
    forget_refused_log(store, order.id);
    throw;
  }
  bool leased = false;
  ScopeExit undo([&] {
    if (leased) teardown_lease(store, nft, attached.lease);
  });
  // The same id released a moment ago (a `run --name` again): its netd may still be
  // tearing it down; the lease, and the veth's name, are free once it has.
  wait_for_releasing_owner(store, order.id, 5000);
  NetlinkSocket host;
  {
    LeaseStore::Lock lock(store);
    collect_stale_leases(store, nft);
    check_ports_unpublished(store, request.publish, order.id);
    attached.lease = store.allocate(lock, order.id, request, LeaseOwner::self());
    leased = true;
    prepare_base(store, nft, host, request, attached.lease);
  }
  attached.forwarder = make_forwarder(io, nft, attached.lease, request);
  attached.lease.dns_port = attached.forwarder->port();
  store.update(attached.lease);
  // The base tables exist but for the first container of the host: try without them
  // first (one transaction, no listing), make them only when that fails.
  std::string rules = ruleset::container_rules(attached.lease, request);
  if (!nft.try_run(rules)) {
    ensure_base_tables(nft, request);
    nft.run(rules, "apply the network policy of " + order.id);
  }
  undo.dismiss();
  return attached;
}

void link_namespace(AttachedNetwork& attached, int netns_fd, Nftables& nft, LeaseStore& store) {
  ScopeExit undo([&] { release_network(attached, nft, store); });
  // Created with its peer directly in the container's namespace: moving a link between
  // namespaces waits for RCU grace periods (15-30 ms measured on a loaded host, against
  // 1-3 ms for this creation), so no veth is made ahead of its namespace.
  NetlinkSocket host;
  create_veth(host, names_for_key(attached.lease.key).host_veth, attached.lease.bridge, netns_fd, kContainerInterface);
  set_container_sysctls(netns_fd);  // before eth0 is up: no router advertisement is ever taken
  configure_container_side(NetlinkSocket::in_namespace(netns_fd), kContainerInterface, attached.lease);
  undo.dismiss();
}

void enter_namespace(AttachedNetwork& attached, int netns_fd, Nftables& nft, LeaseStore& store) {
  link_namespace(attached, netns_fd, nft, store);
  attached.forwarder->start();
}

void reset_to_standby(AttachedNetwork& attached, const NetworkRequest& standby_request, const std::string& standby_id,
                      const std::function<bool()>& forget_flows, boost::asio::io_context& io, Nftables& nft,
                      LeaseStore& store) {
  const Lease used = attached.lease;
  Lease next = used;  // the same key, addresses and owner
  next.publish.clear();
  next.policy = false;
  // A forwarder that took nothing from the container (no question: /bin/true's) serves the
  // next as it is, on the same port; one that did may have answers on their way, which
  // must grant nothing to the next (its state is marked closed), and goes.
  if (!used.policy && !attached.forwarder->received_anything()) {
    attached.forwarder->pause();
  } else {
    attached.forwarder.reset();
    attached.forwarder = make_forwarder(io, nft, next, standby_request, used.dns_port);
  }
  next.dns_port = attached.forwarder->port();
  // A container that had no policy and no published port had the standby's rules: the same
  // but for the forwarder's port, which the new one has again (almost always).
  if (used.policy || !used.publish.empty() || next.dns_port != used.dns_port) {
    nft.run(ruleset::container_rules_replacing(used, next, standby_request), "reset the network of " + used.id);
  }
  attached.lease = next;  // what a teardown from here on removes
  attached.held_ports.clear();
  if (forget_flows() && !flush_conntrack_of({used.address4, used.address6})) {
    throw Error("flush the tracked flows of " + used.id, "no ctnetlink in this kernel");
  }
  {
    LeaseStore::Lock lock(store);
    // nucleus's marks are read here alone: a joiner or an exec marks under this lock, so
    // none can be made unseen before the namespace is a standby's.
    if (std::optional<std::string> why = unrecyclable_mark(store, attached.lease)) throw Error(*why);
    store.hand_over(lock, attached.lease, standby_id);
  }
}

void release_network(AttachedNetwork& attached, Nftables& nft, LeaseStore& store) {
  attached.forwarder.reset();
  attached.held_ports.clear();
  teardown_lease(store, nft, attached.lease);
}

}  // namespace nucleus::net
