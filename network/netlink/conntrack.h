#pragma once

#include <cstddef>
#include <vector>

#include "config/ip_address.h"

// The host's connection tracking entries of one container's addresses, through ctnetlink
// (libnl's netlink core; no `conntrack` process). An entry outlives the container whose
// connection it tracked (a UDP flow's for up to two minutes, an established TCP one's for
// days when no FIN or RST was seen), and the egress chains accept what it says is
// established: the next holder of the address (a container given the same lease index, or
// the same recycled namespace) would have inherited the previous one's flows past its own
// policy. They are deleted before an address serves another container.
namespace nucleus::net {

// Deletes every entry whose original source or reply source is one of `addresses` (a
// container's outbound flows, and the published-port flows DNATed to it), in every zone.
// false: this kernel has no ctnetlink (nothing to flush through; the caller says so and
// goes on). Throws Error when the table or an entry could not be handled (the caller keeps
// what would let it try again). An entry gone meanwhile is not an error.
bool flush_conntrack_of(const std::vector<IpAddress>& addresses);

}  // namespace nucleus::net
