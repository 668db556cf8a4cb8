#include "daemon/agent/kill_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace nucleus::agent {
namespace {

struct Proc {
  pid_t pid;
  pid_t ppid;
  pid_t sid;
  bool in_tree;
};

// Reads /proc/PID/stat's ppid and session; false for a zombie or a process gone meanwhile.
bool read_stat(pid_t pid, pid_t* ppid, pid_t* sid) noexcept {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* close_paren = strrchr(buf, ')');
  if (close_paren == nullptr) return false;
  char state;
  int pgrp;
  if (sscanf(close_paren + 1, " %c %d %d %d", &state, ppid, &pgrp, sid) != 4) return false;
  return state != 'Z' && state != 'X';
}

// Whether one of /proc/PID/environ's entries is exactly `marker`.
bool carries_marker(pid_t pid, const char* marker) noexcept {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/environ", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  constexpr size_t kMax = 256 * 1024;  // an environment larger than this is not searched past it
  char* buf = static_cast<char*>(malloc(kMax + 1));
  size_t len = 0;
  while (buf != nullptr && len < kMax) {
    ssize_t n = read(fd, buf + len, kMax - len);
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  bool found = false;
  if (buf != nullptr) {
    buf[len] = '\0';
    for (size_t i = 0; i < len && !found; i += strlen(buf + i) + 1) found = strcmp(buf + i, marker) == 0;
    free(buf);
  }
  return found;
}

// Every live process but PID 1 and ourselves; *count set. The caller frees.
Proc* scan_processes(size_t* count) noexcept {
  *count = 0;
  size_t cap = 256;
  Proc* procs = static_cast<Proc*>(malloc(cap * sizeof(Proc)));
  DIR* dir = opendir("/proc");
  if (procs == nullptr || dir == nullptr) {
    if (dir != nullptr) closedir(dir);
    return procs;
  }
  const pid_t self = getpid();
  while (dirent* e = readdir(dir)) {
    pid_t pid = static_cast<pid_t>(atoi(e->d_name));
    if (pid <= 1 || pid == self) continue;
    Proc p{pid, 0, 0, false};
    if (!read_stat(pid, &p.ppid, &p.sid)) continue;
    if (*count == cap) {
      Proc* bigger = static_cast<Proc*>(realloc(procs, 2 * cap * sizeof(Proc)));
      if (bigger == nullptr) break;
      procs = bigger;
      cap *= 2;
    }
    procs[(*count)++] = p;
  }
  closedir(dir);
  return procs;
}

bool in_tree(const Proc* procs, size_t count, pid_t pid) noexcept {
  for (size_t i = 0; i < count; ++i) {
    if (procs[i].pid == pid) return procs[i].in_tree;
  }
  return false;
}

// One round: marks the tree among the live processes and kills it. Returns how many.
unsigned kill_round(pid_t root, const char* marker) noexcept {
  size_t count = 0;
  Proc* procs = scan_processes(&count);
  if (procs == nullptr) return 0;
  for (size_t i = 0; i < count; ++i) {
    Proc& p = procs[i];
    p.in_tree = p.pid == root || (root > 0 && p.sid == root) || carries_marker(p.pid, marker);
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < count; ++i) {
      if (!procs[i].in_tree && in_tree(procs, count, procs[i].ppid)) {
        procs[i].in_tree = true;
        grew = true;
      }
    }
  }
  unsigned killed = 0;
  for (size_t i = 0; i < count; ++i) {
    if (procs[i].in_tree && kill(procs[i].pid, SIGKILL) == 0) ++killed;
  }
  free(procs);
  return killed;
}

}  // namespace

unsigned kill_exec_tree_round(pid_t root, const char* marker) noexcept { return kill_round(root, marker); }

}  // namespace nucleus::agent
