#pragma once

#include <string>

#include "config/network_spec.h"

// The resident nucleus-netd (docs/networking.md, "Processes"): one per state directory and
// netd build, started on demand by the first attach, with libnftables, libnl and Boost
// already loaded and relocated. It only accepts and forks: each attach is served by a child
// of its own (the same code, the same per-container process, lease owner and crash
// semantics as a netd started by fork + exec), so its death ends no container's network.
// It leaves once it has had no child and no request for idle_ms.
//
// It also keeps `pool` standbys (docs/networking.md, "Prepared namespaces"): children that
// prepared a container's network namespace before any container asked, at idle CPU
// priority, refilled once 50 ms pass without an order for them (at most a second after the
// first that handed out one whose namespace will not come back), one at once when an order
// finds none at all; bursts larger than the pool grow it (up to 16) for a minute. Its death, or its leaving, ends the standbys (they tear down what
// they made), never a container's network.
namespace nucleus::net {

struct ServeOptions {
  int idle_ms = 60000;
  size_t pool = 2;
  // Runs in each container's child, fds laid out as network/protocol.h says; returns its
  // exit status.
  int (*attach)() = nullptr;
  // Runs in each standby's child: `server` is its socket to the server; prepares for
  // `request` and serves the container it is handed; returns its exit status.
  int (*stand_by)(int server, const std::string& state_dir, const NetworkRequest& request) = nullptr;
  // Standbys handed a container keep their socket to the server, and offer their namespace
  // again once the container ended, if its order allowed it and nothing of it is left
  // there (docs/networking.md, "Recycled namespaces"). false: each serves one container.
  bool recycle = true;
};

// `nucleus-netd serve`: takes the lock (another server holding it: returns 0 at once),
// listens, forks itself into the background (the process the caller started returns 0 once
// the socket accepts) and serves until idle or told to stop (SIGTERM, SIGINT, SIGHUP).
// `attach` runs in each child with fds 2-6 laid out as network/protocol.h says; what it
// returns is the child's exit status.
int serve(const std::string& state_dir, const std::string& tag, const ServeOptions& options);

// In a child, the attach's fds at their numbers: 2 log, 3 order, 4 control; nothing else
// stays open. Exits (125) when it cannot.
void lay_out_attach_fds(int log, int order, int control);

}  // namespace nucleus::net
