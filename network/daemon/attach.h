#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/sys/unique_fd.h"
#include "network/dns/forwarder.h"
#include "network/firewall/nftables.h"
#include "network/ipam/lease_store.h"
#include "network/protocol.h"

// The attach sequence nucleus-netd runs for one container (docs/networking.md, "Attach"),
// in two parts so that the first runs while nucleus is still making the container: before
// its network namespace exists, published ports held, lease, bridge and base tables (under
// the store's lock), the forwarder's sockets, the container's rules (they name the veth,
// which need not exist yet); once the namespace exists, the veth with its peer created in
// it as eth0, configured, and the forwarder started. On any failure everything
// made so far is removed before the Error leaves.
namespace nucleus::net {

struct AttachedNetwork {
  Lease lease;
  std::vector<UniqueFd> held_ports;
  std::unique_ptr<dns::Forwarder> forwarder;
};

AttachedNetwork prepare_network(const AttachOrder& order, boost::asio::io_context& io, Nftables& nft, LeaseStore& store);
void enter_namespace(AttachedNetwork& attached, int netns_fd, Nftables& nft, LeaseStore& store);
// enter_namespace without starting the forwarder: what a standby does ahead of its container.
void link_namespace(AttachedNetwork& attached, int netns_fd, Nftables& nft, LeaseStore& store);

// Under the store's lock: refuses a host port (and transport) that another container's
// lease publishes, on whatever address (the DNAT map is keyed by port alone: nft would
// refuse it with "File exists"); the bind of the same address is refused before this.
void check_ports_unpublished(const LeaseStore& store, const std::vector<PortPublish>& publish, const std::string& id);
// An attach refused before its lease (a port taken since nucleus checked it): no lease's
// removal takes the log nucleus opened for it, so this does (unless a live lease of that
// id, a twin's, names the same log).
void forget_refused_log(const LeaseStore& store, const std::string& id) noexcept;
// The reverse, for the helper that attached it.
void release_network(AttachedNetwork& attached, Nftables& nft, LeaseStore& store);
// An ended container's network back into the standby's that served it (a recycled
// namespace, network/daemon/recycle.h), once recycle_refusal found nothing: its forwarder
// kept when it took nothing from the container and served no policy, else a new one (the
// old one answers and grants nothing more), the container's rules replaced by the
// standby's in one transaction (its published ports' map elements, its policy's chains and
// sets with the addresses its names were granted), its ports' sockets closed, the host's
// connection tracking entries of its addresses deleted, and its lease renamed to
// `standby_id` (the container's id is free at once: a start of the same name waits no
// longer; its log is the caller's to remove), unless nucleus marked the namespace
// (network/ipam/recycle_marks.h: read under the lock of that rename, where no mark can be
// made unseen; the one check of it). Throws Error when a part fails or a mark says why:
// the caller then tears everything down.
// `forget_flows`, asked once its rules are the standby's (no flow of the container's can
// start after): forgets what the namespace itself learnt of its flows (its route caches)
// and says whether it may have had any (network/daemon/recycle.h, exchanged_traffic); when
// not, the walk of the whole conntrack table is spared.
void reset_to_standby(AttachedNetwork& attached, const NetworkRequest& standby_request, const std::string& standby_id,
                      const std::function<bool()>& forget_flows, boost::asio::io_context& io, Nftables& nft, LeaseStore& store);

}  // namespace nucleus::net
