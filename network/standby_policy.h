#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "network/protocol.h"

// Which containers a prepared network namespace may serve (docs/networking.md, "Prepared
// namespaces"): the resident netd keeps a few standbys, each a netd that made a namespace
// with eth0 on the bridge, its lease, the container's rules without a policy and the
// forwarder's sockets before any container asked. Pure: the table the server consults.
namespace nucleus::net {

// What a standby is prepared for, from an order it may later serve: the order's bridge and
// subnets, and nothing else (no published port, no egress rule, the host's resolvers). At
// the hand-over the standby holds the order's ports, replaces its rules by the order's in
// one transaction and gives the forwarder the order's names and resolvers.
NetworkRequest standby_request(const NetworkRequest& from);

// Whether a standby prepared for `prepared` can serve a start that asks for `wanted` (and
// takes a namespace): the same bridge and subnets, whose base rules and addresses are the
// standby's.
bool standby_serves(const NetworkRequest& wanted, const NetworkRequest& prepared);

// When the resident netd prepares standbys and how far its pool grows (standby_pool.cc).
struct PoolTimings {
  // The refill waits for this long without an order of the prepared configuration (each
  // puts it off again: preparing beside a burst of starts only slowed them) ...
  std::chrono::milliseconds quiet;
  // ... but never longer than this after the first, so a steady stream still gets standbys.
  std::chrono::milliseconds latest;
  // An order that finds no standby at all grows the pool by one, up to this (or the
  // configured size, if larger) ...
  size_t max_size;
  // ... and the pool goes back to its configured size after this without a burst that
  // needed more.
  std::chrono::seconds shrink_after;
  // Failed standbys in a row before the server stops refilling (each order that finds none
  // tries again).
  int max_failures;
};
inline constexpr PoolTimings kPoolTimings{.quiet = std::chrono::milliseconds(50),
                                          .latest = std::chrono::milliseconds(1000),
                                          .max_size = 16,
                                          .shrink_after = std::chrono::seconds(60),
                                          .max_failures = 3};

// The id a standby's lease carries until a container takes it over.
std::string standby_id(pid_t pid, uint64_t start_time);

// Whether a lease is a standby's own, not handed to any container yet: the server's to
// drop, never a network in use (its id names its owner; a container's does only if its
// name is "standby-" with its own netd's pid and start time, which it cannot choose ahead).
bool is_standby_lease(const Lease& lease);

}  // namespace nucleus::net
