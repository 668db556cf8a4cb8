#pragma once

#include <string>

#include "config/network_spec.h"

// A standby of the resident netd (docs/networking.md, "Prepared namespaces" and "Recycled
// namespaces"): the network of a container prepared before any asked, handed to one by the
// server (network/daemon/server.h), and offered again when that container ended and left
// nothing in its namespace.
namespace nucleus::net {

// Runs in the standby's child: `server` is its socket to the server; prepares for `request`
// and serves the containers it is handed; returns its exit status.
int stand_by(int server, const std::string& state_dir, const NetworkRequest& request);

}  // namespace nucleus::net
