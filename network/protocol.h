#pragma once

#include <string>
#include <vector>

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
  // The caller can put the container into a network namespace netd prepared ahead (a
  // standby's, network/daemon/main.cc) instead of making its own: the resident server then
  // answers the connection first with kReplyPrepared + the namespace, or kReplyFresh.
  bool takes_namespace = false;
  // Once the container has ended, its (prepared) namespace may serve a later container
  // (docs/networking.md, "Recycled namespaces"): nothing of it can outlive its init or have
  // changed the namespace itself (native_network.cc, namespace_recyclable). netd still
  // checks what it can see before it offers the namespace again.
  bool recyclable = false;
  // The caller takes a standby's mounts with its namespace (kPreparedMounts); a nucleus of
  // an earlier build does not say so and is sent the namespace alone.
  bool takes_mounts = false;
};
std::string order_to_json(const AttachOrder& order);
AttachOrder order_from_json(const std::string& text);  // throws Error

// netd -> nucleus, once: "ok" + the lease, or "error" + the Error to rethrow.
std::string report_ok(const Lease& lease);
std::string report_error(const Error& error);
// Returns the lease, or throws the reported Error (exit code 125).
Lease read_report(const std::string& datagram);

// nucleus -> netd. The first, once the container's network namespace exists, carries it
// (SCM_RIGHTS) and, optionally, the container's pidfd; netd has prepared everything else
// by then and answers with its report.
inline constexpr std::string_view kCommandNetns = "netns";
inline constexpr std::string_view kCommandRelease = "release";  // tear down now (no answer awaited)
inline constexpr std::string_view kCommandDetach = "detach";    // live on until the container ends
inline constexpr std::string_view kReplyReleased = "released";

// The helper's file descriptors (set up by the spawner, or the resident server, and read by
// netd): 2 its log, then these; nothing else is open.
inline constexpr int kOrderFd = 3;
inline constexpr int kControlFd = 4;

// The resident netd (network/daemon/server.h): one per state directory and netd build (the
// tag: the binary's device, inode, size and mtime, so a rebuilt netd gets a server of its
// own and the old one idles out). A connection sends kServerAttach with SCM_RIGHTS: the
// log and the order; the connection then is the control socket above, served by a child
// of the server.
inline constexpr std::string_view kServerAttach = "attach";
// server -> nucleus, first on a connection whose order takes a namespace: a prepared one
// (SCM_RIGHTS: the prepared fds below) or none (the container makes its own, netd attaches
// to it).
inline constexpr std::string_view kReplyPrepared = "prepared";
inline constexpr std::string_view kReplyFresh = "fresh";
// standby -> server, once its namespace is ready (SCM_RIGHTS: the prepared fds); the server
// hands it a container with kServerAttach + [log, order, connection].
inline constexpr std::string_view kStandbyReady = "ready";
// The prepared fds: the namespace alone, or the namespace and kPreparedMounts detached
// mounts made in it for the container's root: its sysfs, then its /etc files in
// kEtcFileNames' order (network/etc_files.h; their content written by the standby at the
// take-over, network/daemon/prepared_mounts.h).
inline constexpr size_t kPreparedMounts = 4;
inline constexpr size_t kMaxPreparedFds = 1 + kPreparedMounts;
struct ServerPaths {
  std::string socket;  // <state>/netd-<tag>.sock
  std::string lock;    // <state>/netd-<tag>.lock: flock held by the server; "pid start_time"
};
ServerPaths server_paths(const std::string& state_dir, const std::string& tag);
// The tag of the netd binary at path (12 hex digits of a hash of its device, inode, size and
// mtime); empty when it cannot be read.
std::string helper_tag(const std::string& path);
// The servers of a state directory alive now (pid and start time from their lock files).
std::vector<LeaseOwner> running_servers(const std::string& state_dir);

}  // namespace nucleus::net
