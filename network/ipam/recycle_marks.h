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
// A namespace that may serve more than one container (a standby's) is listed by its inode
// from the moment it exists, in one directory for every state root (kRecyclableIndexDir),
// so that a member started under another root finds it too: `<index>/<inode>` links to
// "<state>/<key> <pid> <start time>", the lease's store and key and its netd.
namespace nucleus::net {

// Lists a standby's namespace (`key`: its lease's, `owner`: its netd). Entries whose netd is
// gone (killed before its lease said which namespace it had) are swept on the way. Every
// change of the list is made under its lock (flock on the directory).
void index_recyclable(const LeaseStore& store, unsigned long long netns_inode, const std::string& key, const LeaseOwner& owner);
// Its entry, when it still names this store and key (LeaseStore::remove); the directory
// goes with its last entry.
void unindex_recyclable(const LeaseStore& store, unsigned long long netns_inode, const std::string& key);
// Entries whose netd is gone, at a collection of stale leases (a standby killed before its
// lease named its namespace leaves one no removal takes).
void sweep_recyclable_index(const std::string& index_dir = kRecyclableIndexDir);

// Where the lease's mark is: named by its key; for a standby's namespace that a netd of an
// earlier release keeps (handed to a container, no netns_inode in its lease), by the
// holder's id, the name that release's netd looks for.
std::string unrecyclable_mark_path(const LeaseStore& store, const Lease& lease);
// Keeps the lease's namespace from serving a later container: `why` is what its netd logs.
// Taken back when the lease's file is gone by then (a removal does not take the lock): the
// namespace is torn down, and nothing would remove the mark.
void mark_unrecyclable(const LeaseStore::Lock&, const LeaseStore& store, const Lease& lease, const std::string& why);
// What a mark says, when there is one (read under the store's lock, just before the lease
// is renamed back to its standby: reset_to_standby).
std::optional<std::string> unrecyclable_mark(const LeaseStore& store, const Lease& lease);

// Opens the network namespace a container joins by path (`joiner`: its id, for netd's log).
// One of the list is opened under its store's lock, where the path must still name the
// namespace it named before (a recycle waits for the container's init to end, which takes
// a /proc/PID/ns/net path away), and marked when a container's lease is on it. Refused
// when none is: its standby's (what joined it would be in the next container's network),
// or one being prepared. An entry whose netd is gone names nothing (a namespace freed
// since, whose inode another one may have now): the path is opened as any. The joiner must
// see netd's processes (one pid namespace): in another, every entry reads as gone.
// Throws Error.
UniqueFd open_network_namespace_to_join(const std::string& path, const std::string& joiner,
                                        const std::string& index_dir = kRecyclableIndexDir);

}  // namespace nucleus::net
