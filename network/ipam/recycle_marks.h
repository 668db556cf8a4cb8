#pragma once

#include <optional>
#include <string>

#include "core/sys/unique_fd.h"
#include "network/ipam/lease_store.h"

// What nucleus tells netd of a recyclable namespace (docs/networking.md, "Recycled
// namespaces") that netd cannot see for itself at its container's end: that nucleus put a
// process in it from outside the container. A pod's member (a container that joins the
// namespace by path) is not ended by the container's end; a process `nucleus exec` starts
// with NET_ADMIN, NET_RAW or SYS_ADMIN could change the namespace. Either marks the lease
// before its process exists, whether or not it is still there when the container ends, and
// the namespace then serves no later container: its netd tears it down instead (O(1) at the
// recycle, where a scan of every process's /proc/PID/ns/net cost 0.5 ms of each start).
//
// A namespace that may serve more than one container (a standby's, lease.netns_inode) is
// listed by its inode in one directory for every state root, so that a member started
// under another root finds it too.
namespace nucleus::net {

// Lists the lease's namespace (`<index>/<inode>`, a link to `<state>/<key>`). Under the lock.
void index_recyclable(const LeaseStore::Lock&, const LeaseStore& store, const Lease& lease);
// Its entry, when it still names this lease (LeaseStore::remove); the directory goes with
// its last entry.
void unindex_recyclable(const LeaseStore& store, const Lease& lease);

// Keeps the lease's namespace from serving a later container: `why` is what its netd logs.
void mark_unrecyclable(const LeaseStore::Lock&, const LeaseStore& store, const Lease& lease, const std::string& why);
// What a mark says, when there is one (read without the lock before the reset, as a
// shortcut, and again under it, where it counts: reset_to_standby).
std::optional<std::string> unrecyclable_mark(const LeaseStore& store, const Lease& lease);

// Opens the network namespace a container joins by path (`joiner`: its id, for netd's log).
// One of the list is marked first, under its store's lock, in which the path must still
// name the same namespace: its container's end, which a recycle waits for, takes a
// /proc/PID/ns/net path away. One that no container holds (a standby's) is refused: what
// joined it would be in the next container's network. Throws Error.
UniqueFd open_network_namespace_to_join(const std::string& path, const std::string& joiner,
                                        const std::string& index_dir = kRecyclableIndexDir);

}  // namespace nucleus::net
