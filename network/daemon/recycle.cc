#include "network/daemon/recycle.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/netlink/netns.h"

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

// The namespace's sockets: "sockets: used N", every socket made in it, and "TCP: ... tw N",
// its TCP connections in TIME_WAIT (no socket of anyone's any more, but its addresses and
// ports in /proc/net/tcp and its port held for a minute); -1 when unreadable.
struct Sockets {
  long used = -1, time_wait = -1;
};
Sockets sockets_in(int netns_fd) {
  const std::string text = read_in(netns_fd, {"sockstat"})[0];
  Sockets out;
  constexpr std::string_view kUsed = "sockets: used ";
  if (text.rfind(kUsed, 0) == 0) out.used = std::strtol(text.c_str() + kUsed.size(), nullptr, 10);
  if (size_t tcp = text.find("\nTCP: "); tcp != std::string::npos) {
    if (size_t tw = text.find(" tw ", tcp); tw != std::string::npos && tw < text.find('\n', tcp + 1)) {
      out.time_wait = std::strtol(text.c_str() + tw + 4, nullptr, 10);
    }
  }
  return out;
}

// A counter of /proc/net/snmp ("Ip: ... names" then "Ip: ... values") or snmp6 ("Name value"
// lines); -1 when missing.
long long snmp_value(const std::string& text, std::string_view group, std::string_view name) {
  std::istringstream lines(text);
  std::string header, values;
  while (std::getline(lines, header)) {
    if (header.rfind(std::string(group) + ":", 0) != 0 || !std::getline(lines, values)) continue;
    std::istringstream names(header.substr(group.size() + 1)), numbers(values.substr(group.size() + 1));
    std::string n;
    long long v;
    while (names >> n && numbers >> v) {
      if (n == name) return v;
    }
  }
  return -1;
}
long long snmp6_value(const std::string& text, std::string_view name) {
  std::istringstream lines(text);
  std::string n;
  long long v;
  while (lines >> n >> v) {
    if (n == name) return v;
  }
  return -1;
}

std::vector<long long> traffic_of(int netns_fd) {
  const std::vector<std::string> files = read_in(netns_fd, {"snmp", "snmp6"});
  const std::string &v4 = files[0], &v6 = files[1];
  std::vector<long long> out = {snmp_value(v4, "Ip", "InReceives"), snmp_value(v4, "Ip", "OutRequests"),
                                snmp6_value(v6, "Ip6InDelivers") - snmp6_value(v6, "Icmp6InMsgs"),
                                snmp6_value(v6, "Ip6OutRequests") - snmp6_value(v6, "Icmp6OutMsgs")};
  for (const char* icmp : {"Icmp6InEchos", "Icmp6InEchoReplies", "Icmp6OutEchos", "Icmp6OutEchoReplies", "Icmp6InDestUnreachs",
                           "Icmp6OutDestUnreachs", "Icmp6InPktTooBigs", "Icmp6OutPktTooBigs", "Icmp6InTimeExcds",
                           "Icmp6OutTimeExcds", "Icmp6InParmProblems", "Icmp6OutParmProblems"}) {
    out.push_back(snmp6_value(v6, icmp));
  }
  return out;
}

// How long a socket closed as the container ended may take to be freed (netlink's and
// TCP's go after an RCU grace period).
constexpr int kSocketsFreedMs = 100;

bool is_number(const char* name) { return name[0] >= '0' && name[0] <= '9'; }

// Whether any process is in the namespace (inode, device): each one's /proc/PID/ns/net,
// relative to /proc (no path built per process). A thread that joined another namespace
// than its process's (setns by root alone) is not looked for: the whole scan runs at each
// recycle, and each thread's costs as much again.
bool any_process_in(ino_t inode, dev_t device) {
  UniqueFd proc_fd(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* proc = proc_fd ? ::fdopendir(::dup(proc_fd.get())) : nullptr;
  if (proc == nullptr) return true;  // unknown: as if there were one
  bool found = false;
  char path[sizeof(dirent::d_name) + 8];
  while (dirent* p = ::readdir(proc)) {
    if (!is_number(p->d_name)) continue;
    std::snprintf(path, sizeof path, "%s/ns/net", p->d_name);
    struct stat st {};
    if (::fstatat(proc_fd.get(), path, &st, 0) == 0 && st.st_ino == inode && st.st_dev == device) {
      found = true;
      break;
    }
  }
  ::closedir(proc);
  return found;
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

std::optional<std::string> recycle_refusal(int netns_fd, const NamespaceBaseline& baseline, int container_pidfd) {
  if (!has_ended(container_pidfd)) return "the container's init has not ended";
  struct stat st {};
  if (::fstat(netns_fd, &st) != 0 || st.st_ino != baseline.inode || st.st_dev != baseline.device) {
    return "not the namespace prepared";
  }
  Sockets sockets = sockets_in(netns_fd);
  for (int waited = 0; sockets.used > 0 && waited < kSocketsFreedMs; waited += 2) {
    ::usleep(2000);
    sockets = sockets_in(netns_fd);
  }
  if (sockets.used < 0 || sockets.time_wait < 0) return "its /proc/net/sockstat is unreadable";
  if (sockets.used > 0) return std::to_string(sockets.used) + " socket(s) of the container left in its namespace";
  if (sockets.time_wait > 0) return std::to_string(sockets.time_wait) + " TCP connection(s) of the container in TIME_WAIT";
  if (any_process_in(baseline.inode, baseline.device)) return "a process is still in its namespace";
  return std::nullopt;
}

}  // namespace nucleus::net
