#pragma once

#include <string>
#include <vector>

#include "network/firewall/nftables.h"
#include "network/ipam/lease_store.h"

// Undoing a container's network, from what its lease records: usable by the helper that
// made it (release), by `nucleus-netd cleanup ID` after a kill -9, and by the stale
// collector. Each step tolerates what is already gone; the lease goes last, so an address
// is free again only once nothing of its container is left.
namespace nucleus::net {

// The nftables elements, chains and sets, the veth, then the lease. Throws only when the
// lease cannot be removed; what else fails is printed to stderr and retried by the next
// cleanup (the lease stays).
void teardown_lease(LeaseStore& store, Nftables& nft, const Lease& lease);

// Stops the lease's owner (SIGTERM through a pidfd, after checking its start time; it tears
// down by itself; SIGKILL if it does not end within 5 s) and removes what is left. True
// when there was a lease.
bool cleanup_container_network(LeaseStore& store, Nftables& nft, const std::string& id);

// Waits (at most timeout_ms) for the owner of id's lease to end, if it lives: a netd
// still tearing down a network released a moment ago (release does not wait for it).
void wait_for_releasing_owner(const LeaseStore& store, const std::string& id, int timeout_ms);

// Of `leases` (other containers'), those still in use after waiting (at most timeout_ms in
// all) for the ones being released: their netd tears down at idle priority once its
// container ended (main.cc, Keeper), and is lifted while waited for. A lease whose owner
// died is not in use (the stale collector takes it).
std::vector<Lease> leases_in_use(std::vector<Lease> leases, int timeout_ms);

// Tears down every lease whose owner died. Returns how many.
size_t collect_stale_leases(LeaseStore& store, Nftables& nft);

// With no lease left on it, removes nucleus's tables and the bridge. True when removed.
bool remove_idle_bridge(LeaseStore& store, Nftables& nft, const std::string& bridge);

}  // namespace nucleus::net
