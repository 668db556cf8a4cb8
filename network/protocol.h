#pragma once

#include <string>

#include "config/network_spec.h"
#include "core/sys/error.h"
#include "network/ipam/lease_store.h"

// What nucleus and its network helper (nucleus-netd) say to each other. The order goes in a
// sealed memfd (it may hold thousands of egress rules); reports and commands are datagrams
// on a SOCK_SEQPACKET socketpair (docs/networking.md, "Processes").
namespace nucleus::net {

struct AttachOrder {
  std::string id;
  std::string state_dir;
  NetworkRequest request;
};
std::string order_to_json(const AttachOrder& order);
AttachOrder order_from_json(const std::string& text);  // throws Error

// netd -> nucleus, once: "ok" + the lease, or "error" + the Error to rethrow.
std::string report_ok(const Lease& lease);
std::string report_error(const Error& error);
// Returns the lease, or throws the reported Error (exit code 125).
Lease read_report(const std::string& datagram);

// nucleus -> netd.
inline constexpr std::string_view kCommandRelease = "release";  // tear down now, answer "released"
inline constexpr std::string_view kCommandDetach = "detach";    // live on until the container ends
inline constexpr std::string_view kReplyReleased = "released";

// The helper's file descriptors (set up by the spawner, read by netd).
inline constexpr int kOrderFd = 3;
inline constexpr int kControlFd = 4;
inline constexpr int kNetnsFd = 5;
inline constexpr int kContainerPidFd = 6;  // optional: -1 when closed

}  // namespace nucleus::net
