#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/network_spec.h"
#include "network/dns/dns_message.h"
#include "network/dns/name_policy.h"
#include "network/ipam/lease_store.h"

// The nftables text nucleus hands libnftables: built here as plain strings (unit tests
// compare them with golden files), run by firewall/nftables.h. Everything lives in two
// tables of nucleus's own, `inet nucleus` and `bridge nucleus`; no other table is named.
// The layout and why each rule is where it is: docs/networking.md, "Firewall".
namespace nucleus::net::ruleset {

// The base tables for one bridge. Each starts with `create table`, so running it again
// fails (the table exists) instead of duplicating rules: the caller treats "exists" as done.
std::string base_inet(const std::string& bridge, const Cidr& subnet4, const Cidr& subnet6);
std::string base_bridge();

// One container's chains, sets and map elements, applied in one transaction. Its egress
// CIDRs go into interval sets, its names' addresses later into timeout sets (dns_grant).
std::string container_rules(const Lease& lease, const NetworkRequest& request);

// The commands undoing container_rules, in an order that also works one by one: elements
// first (they reference the chains), then the chains' rules (they reference the sets), then
// chains and sets.
std::vector<std::string> container_removal(const Lease& lease);

// One transaction turning one holder's rules into another's on the same key and addresses:
// a standby's (`prepared`: no policy, no published port) into its container's `lease` and
// `request`, or an ended container's back into a standby's (a recycled namespace). The
// old elements out, the chains flushed, the old policy's sets deleted (with the addresses
// its names were granted), then container_rules (its `add chain` keeps the chains).
// Atomic: no packet sees the chains empty.
std::string container_rules_replacing(const Lease& prepared, const Lease& lease, const NetworkRequest& request);

// Both base tables, for a bridge no lease uses any more.
std::string remove_base();

// Adds a DNS answer's addresses to the container's timeout sets for their TTL (clamped to
// [kMinTimeout, kMaxTimeout]), refreshing an element already there. Empty when the grant
// adds nothing.
inline constexpr uint32_t kMinTimeoutSeconds = 10;
inline constexpr uint32_t kMaxTimeoutSeconds = 86400;
std::string dns_grant(const std::string& key, const std::vector<dns::AddressRecord>& records, const dns::NameGrant& grant);

// The interval-set elements of the CIDR rules of one family, without rules another rule
// of the same port already covers (nft refuses overlapping intervals in one set).
std::vector<EgressRule> effective_cidr_rules(const std::vector<EgressRule>& rules, IpFamily family);

}  // namespace nucleus::net::ruleset
