#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"
#include "network/protocol.h"

// What the resident netd (server.cc) reads and writes on its sockets, and its process's
// set-up: the parts of the server that are not its loop.
namespace nucleus::net {

// The server's listening socket at path (0600 by umask, non-blocking); a dead server's
// socket there is replaced (the caller holds the lock).
UniqueFd listen_at(const std::string& path);

// What every child would otherwise load on its first rule naming a protocol (nft resolves
// "tcp", "udp" through NSS, which dlopens its modules and reads /etc/protocols): loaded
// once in the server, inherited by every fork.
void warm_up_name_services();

// The order a connection carries (the memfd is read again by whoever serves it); nullopt
// when unreadable: the child serving it reports that.
std::optional<AttachOrder> peek_order(int fd);

// A standby's "ready" and its fds (network/protocol.h: the namespace, then its mounts if
// any); nullopt when it said something else, or went. Non-blocking on the server's side:
// errno EAGAIN then says there was nothing to read.
std::optional<std::vector<UniqueFd>> receive_ready(int socket);

}  // namespace nucleus::net
