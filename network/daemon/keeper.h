#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "network/daemon/attach.h"
#include "network/daemon/recycle.h"
#include "network/firewall/nftables.h"
#include "network/ipam/lease_store.h"

// What a container's netd does once its network is prepared (network/daemon/main.cc's
// attach, standby.cc's standbys): wait for the container's namespace, attach, report, and
// keep the network (the forwarder, the rules) until nucleus releases it or the container
// ends; then tear it down, or, for a recycled namespace, hand it back to its standby.
namespace nucleus::net {

// The order in its memfd (kOrderFd), which is closed after.
std::string read_order();
// A datagram to nucleus on kControlFd (what cannot be sent is nucleus gone: ignored).
void send_control(const std::string& message);

// Blocks SIGTERM, SIGINT and SIGHUP: a stop asked for during the attach is taken once the
// network is kept (nothing half made is left behind by a signal's default action). The set.
sigset_t block_stops();

// A standby's namespace, for serving another container once one has ended (docs/
// networking.md, "Recycled namespaces"; network/daemon/recycle.h).
struct Recycling {
  int netns = -1;
  NamespaceBaseline baseline;
  NetworkRequest request;  // the standby's
  std::string standby_id;
  int log = -1;  // the server's log, stderr from the container's end: its own log goes with its id
};
// keep_attached's status when the namespace was made a standby's again.
constexpr int kRecycled = -1;

// Once the network is prepared: waits for the container's namespace (its pidfd with it),
// attaches to it (unless prepared in it already: `prepared` is that namespace's inode),
// reports, and keeps the network until it is released. Returns the exit status; with
// `recycling`, kRecycled when the ended container's namespace was made the standby's again.
int keep_attached(boost::asio::io_context& io, AttachedNetwork& attached, Nftables& nft, LeaseStore& store,
                  const sigset_t& stops, std::optional<ino_t> prepared, Recycling* recycling = nullptr);

}  // namespace nucleus::net
