#pragma once

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/sys/unique_fd.h"
#include "network/dns/forwarder.h"
#include "network/firewall/nftables.h"
#include "network/ipam/lease_store.h"
#include "network/protocol.h"

// The attach sequence nucleus-netd runs for one container (docs/networking.md, "Attach"):
// published ports held, lease, bridge and base tables (under the store's lock), veth, the
// container side, the forwarder, the container's rules. On any failure everything made so
// far is removed before the Error leaves.
namespace nucleus::net {

struct AttachedNetwork {
  Lease lease;
  std::vector<UniqueFd> held_ports;
  std::unique_ptr<dns::Forwarder> forwarder;
};

AttachedNetwork attach_network(const AttachOrder& order, int netns_fd, boost::asio::io_context& io, Nftables& nft,
                               LeaseStore& store);

// The reverse, for the helper that attached it.
void release_network(AttachedNetwork& attached, Nftables& nft, LeaseStore& store);

}  // namespace nucleus::net
