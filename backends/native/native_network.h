#pragma once

#include <sys/types.h>

#include <string>

#include "backends/native/native_session.h"
#include "config/container_spec.h"

// A native container's network beyond its loopback, for create (native_create.cc): netd's
// bridge (network/client/container_network.h) or pasta (network/client/user_mode.h), in the
// order create calls them.
namespace nucleus::native {

// --network bridge: the record's /etc/resolv.conf, /etc/hosts and /etc/hostname, bound
// read-only over the root's (their content comes once the network is attached); returns
// their directory.
std::string prepare_network_files(ContainerSpec& spec, const std::string& record_dir);
// Orders the container's network from netd as soon as the id is ours.
void prepare_network(NativeSession& s, const std::string& id, const std::string& root);
// As soon as the container's network namespace exists (the child's init cloned).
void give_network_namespace(NativeSession& s);
// Waits for netd's attach and fills the /etc files.
void attach_network(NativeSession& s, const std::string& files);
// --network pasta (or bridge asked without root).
void attach_user_network(NativeSession& s, pid_t init, const std::string& id, const std::string& root);

}  // namespace nucleus::native
