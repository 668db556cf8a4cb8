#include "network/daemon/recycle.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <optional>
#include <string_view>
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

bool is_number(const char* name) { return name[0] >= '0' && name[0] <= '9'; }

// The numbers of /proc's entries, ascending as the kernel lists them.
std::optional<std::vector<pid_t>> process_ids() {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  std::vector<pid_t> pids;
  while (dirent* p = ::readdir(proc)) {
    if (is_number(p->d_name)) pids.push_back(static_cast<pid_t>(std::strtol(p->d_name, nullptr, 10)));
  }
  ::closedir(proc);
  return pids;
}

// The kernel's threads (kthreadd and those of its children whose flags say PF_KTHREAD),
// sorted: none is ever in a container's namespace, and on a small host they are most of
// /proc. Not every child of kthreadd is one: a usermode helper (modprobe, a core_pattern
// pipe, forked by the kernel with CLONE_PARENT) runs a program as root, and is looked at as
// any process. Each child's flags are read once and kept for the standby's life (`known`: a
// standby is single-threaded); a number gone from the list is forgotten, so only a kernel
// thread's number taken by a helper between two recycles of one standby (a wrap of the pid
// space) would pass unseen. Empty where PID 2 is not kthreadd (netd in a pid namespace of
// its own sees no kernel thread).
std::vector<pid_t> kernel_threads() {
  constexpr unsigned kPfKthread = 0x00200000;  // include/linux/sched.h
  static std::vector<pid_t> known;
  std::optional<sys::ProcessStat> kthreadd = sys::process_stat(2);
  if (!kthreadd || (kthreadd->flags & kPfKthread) == 0) return {};
  std::vector<pid_t> children;
  try {
    children = parse_pid_list(sys::read_file("/proc/2/task/2/children", 1 << 20, "list the kernel's threads"));
  } catch (const Error&) {
    return {};  // no children file (CONFIG_PROC_CHILDREN): every process is looked at
  }
  std::vector<pid_t> now = {2};
  for (pid_t pid : children) {
    std::optional<sys::ProcessStat> st;
    if (std::binary_search(known.begin(), known.end(), pid) || ((st = sys::process_stat(pid)) && (st->flags & kPfKthread) != 0)) {
      now.push_back(pid);
    }
  }
  std::sort(now.begin(), now.end());
  known = now;
  return now;
}

// Whether any process is in the namespace: each one's /proc/PID/ns/net read as a link
// ("net:[INODE]": every namespace is on the one nsfs, its inode names it; a stat costs
// twice as much, since it follows the link). Kernel threads are skipped (kernel_threads,
// listed after /proc was read: a number reused by a kernel thread since was a process that
// has ended). A thread that joined another namespace than its process's (setns by root
// alone) is not looked for: the whole scan runs at each recycle, and each thread's costs as
// much again.
bool any_process_in(ino_t inode) {
  std::optional<std::vector<pid_t>> pids = process_ids();
  if (!pids) return true;  // unknown: as if there were one
  const std::vector<pid_t> kernel = kernel_threads();
  UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!proc) return true;
  char wanted[48];
  const int wanted_size = std::snprintf(wanted, sizeof wanted, "net:[%llu]", static_cast<unsigned long long>(inode));
  char path[32], link[48];
  for (pid_t pid : *pids) {
    if (std::binary_search(kernel.begin(), kernel.end(), pid)) continue;
    std::snprintf(path, sizeof path, "%d/ns/net", static_cast<int>(pid));
    ssize_t n = ::readlinkat(proc.get(), path, link, sizeof link);
    if (n == wanted_size && std::memcmp(link, wanted, static_cast<size_t>(n)) == 0) return true;
  }
  return false;
}

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

std::optional<std::string> recycle_refusal(int netns_fd, const NamespaceBaseline& baseline, int container_pidfd,
                                           const std::string& exec_marker) {
  if (!has_ended(container_pidfd)) return "the container's init has not ended";
  if (::access(exec_marker.c_str(), F_OK) == 0) return "a process was exec'd into it with NET_ADMIN, NET_RAW or SYS_ADMIN";
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
  if (any_process_in(baseline.inode)) return "a process is still in its namespace";
  return std::nullopt;
}

}  // namespace nucleus::net
