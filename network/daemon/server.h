#pragma once

#include <string>

// The resident nucleus-netd (docs/networking.md, "Processes"): one per state directory and
// netd build, started on demand by the first attach, with libnftables, libnl and Boost
// already loaded and relocated. It only accepts and forks: each attach is served by a child
// of its own (the same code, the same per-container process, lease owner and crash
// semantics as a netd started by fork + exec), so its death ends no container's network.
// It leaves once it has had no child and no request for idle_ms.
namespace nucleus::net {

// `nucleus-netd serve`: takes the lock (another server holding it: returns 0 at once),
// listens, forks itself into the background (the process the caller started returns 0 once
// the socket accepts) and serves until idle or told to stop (SIGTERM, SIGINT, SIGHUP).
// `attach` runs in each child with fds 2-6 laid out as network/protocol.h says; what it
// returns is the child's exit status.
int serve(const std::string& state_dir, const std::string& tag, int idle_ms, int (*attach)());

}  // namespace nucleus::net
