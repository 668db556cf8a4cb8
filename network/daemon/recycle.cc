#include "network/daemon/recycle.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/netlink/netns.h"
#include "network/proc_net.h"

namespace nucleus::net {
namespace {

// Files of /proc/thread-self/net as the namespace netns_fd names has them: that directory
// shows the namespace of the reading thread, opened while netd is in it. An unreadable one
// is empty.
std::vector<std::string> read_in(int netns_fd, std::initializer_list<const char*> names) {
  std::vector<UniqueFd> files;
  try {
    NetnsSwitch inside(netns_fd);
    for (const char* name : names) files.emplace_back(::open((std::string("/proc/thread-self/net/") + name).c_str(), O_RDONLY | O_CLOEXEC));
  } catch (const Error&) {
    // Not entered: each file reads as empty, unreadable.
  }
  std::vector<std::string> out(names.size());
  for (size_t i = 0; i < files.size(); ++i) {
    char buffer[8192];
    ssize_t n;
    while (files[i] && (n = ::read(files[i].get(), buffer, sizeof buffer)) > 0) out[i].append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// The namespace's sockets (proc_net.h); -1 when unreadable.
SocketCounts sockets_in(int netns_fd) { return parse_sockstat(read_in(netns_fd, {"sockstat"})[0]); }

std::vector<long long> traffic_of(int netns_fd) {
  const std::vector<std::string> files = read_in(netns_fd, {"snmp", "snmp6"});
  return traffic_counters(files[0], files[1]);
}

// How long a socket closed as the container ended may take to be freed (netlink's and
// TCP's go after an RCU grace period).
constexpr int kSocketsFreedMs = 100;

bool has_ended(int pidfd) {
  if (pidfd < 0) return false;
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace

NamespaceBaseline namespace_baseline(int netns_fd) {
  struct stat st {};
  if (::fstat(netns_fd, &st) != 0) throw_errno("note the prepared network namespace");
  std::vector<long long> traffic = traffic_of(netns_fd);
  if (traffic.front() < 0) throw Error("note the prepared network namespace", "its /proc/net/snmp is unreadable");
  return {st.st_ino, st.st_dev, std::move(traffic)};
}

bool exchanged_traffic(int netns_fd, NamespaceBaseline& baseline) {
  std::vector<long long> now = traffic_of(netns_fd);
  const bool exchanged = now != baseline.traffic || now.front() < 0;  // unreadable: as if it had
  baseline.traffic = std::move(now);
  return exchanged;
}

std::optional<std::string> recycle_refusal(int netns_fd, const NamespaceBaseline& baseline, int container_pidfd) {
  if (!has_ended(container_pidfd)) return "the container's init has not ended";
  struct stat st {};
  if (::fstat(netns_fd, &st) != 0 || st.st_ino != baseline.inode || st.st_dev != baseline.device) {
    return "not the namespace prepared";
  }
  SocketCounts sockets = sockets_in(netns_fd);
  for (int waited = 0; sockets.used > 0 && waited < kSocketsFreedMs; waited += 2) {
    ::usleep(2000);
    sockets = sockets_in(netns_fd);
  }
  if (sockets.used < 0 || sockets.time_wait < 0) return "its /proc/net/sockstat is unreadable";
  if (sockets.used > 0) return std::to_string(sockets.used) + " socket(s) of the container left in its namespace";
  if (sockets.time_wait > 0) return std::to_string(sockets.time_wait) + " TCP connection(s) of the container in TIME_WAIT";
  return std::nullopt;
}

}  // namespace nucleus::net
