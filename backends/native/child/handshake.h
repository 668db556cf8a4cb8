#pragma once

#include <vector>

#include "core/cgroup/cgroup.h"
#include "core/container/child_report.h"
#include "core/sys/unique_fd.h"

// The parent/child protocol of the native backend, over one SOCK_SEQPACKET socketpair
// (close-on-exec on both ends). Every message is one datagram.
//
//   parent (nucleus, host namespaces)          child (PID 1 of the new namespaces)
//   ---------------------------------          ------------------------------------
//   clone3(CLONE_NEW*) ----------------------> [--network none: unshare(CLONE_NEWNET), the
//                                              clone leaving it out] then blocks in
//                                              wait_for_go()
//   [user ns] write setgroups, gid_map, uid_map
//   send_go() -------------------------------> "G"
//                                              become root in the user ns, PDEATHSIG,
//                                              hostname, lo
//   [id-mapped rootfs] open_tree + mount_setattr(MOUNT_ATTR_IDMAP, child's user ns)
//   send_rootfs_tree(tree fd) ---------------> "M" (+ SCM_RIGHTS tree fd): the parent makes
//                                              it while the child sets up its namespaces
//   [a plan with /dev's fixed tree] build it detached (dev_tree.h)
//   send_dev_tree(tree fd or none) ----------> "D" (+ SCM_RIGHTS tree fd), taken when the
//                                              root reaches /dev: none, the child builds it
//                                              root, pivot_root, workdir
//   [CgroupJoin::kAfterRoot: meanwhile the cgroup
//    is created and its join files opened; the
//    keeper forked before a network attach, else
//    right after "C"]
//   send_cgroup_ready(fds) ------------------> "C" (+ SCM_RIGHTS join files): write "0"
//                                              to each, cgroup namespace, then
//                                              fork the workload under the supervisor
//                                              (or exec it directly with --no-init)
//   [create without CLONE_INTO_CGROUP: "C" right after "G", and the child joins before
//    anything else]
//   [under the supervisor with Landlock: the child sends "P" (+ its root) once its root is
//    entered, before it waits for "C"; the parent reads it after "C", builds the ruleset
//    beneath that root and sends "L" (+ the ruleset), which the workload takes just before
//    it restricts itself]
//                                              the workload finds its command, then:
//   <-------------------------------- "R": ready; it blocks opening exec.fifo
//   [start: nucleus opens exec.fifo and reads the byte the workload writes; it execs]
//   [run: the workload writes its byte to the start pipe, whose reader is there already]
//   <-------------------------------- on any failure: ChildReport{step, errno, index}
//                                              and _exit(125) (exec: 126/127)
//   <-------------------------------- EOF once every copy of the child's end is closed:
//                                     the workload's exec closed the last (success)
//
// The parent reads reports until EOF while it also waits on the child's pidfd: the child
// never blocks on the parent after "G", so there is no deadlock however either side ends.
namespace nucleus::native {

// Parent: releases the child. Throws Error.
void send_go(int sync_fd);
// Parent: the id-mapped rootfs, once the child runs (it waits for it just before its root).
// Returns 0 or an errno (EPIPE: the child has ended; the monitor reads its report).
int send_rootfs_tree(int sync_fd, int tree_fd) noexcept;

// OCI containers (`nucleus create`) add two child messages before the child blocks on its
// exec fifo: "T" with the pty master (SCM_RIGHTS) when process.terminal is set, then "R",
// ready: everything is in place and the child waits for `nucleus start`.
int send_terminal(int sync_fd, int master_fd) noexcept;
int send_ready(int sync_fd) noexcept;

struct ChildMessage {
  enum Kind {
    kEof,             // every copy of the child's end is closed
    kReport,          // ChildReport: what failed
    kTerminal,        // "T" + the pty master
    kRootReady,       // "P" + the container's root, for the Landlock ruleset
    kReady,           // "R": everything is in place, the workload waits for start
    kProcessStarted,  // "I" + a pid: the exec helper forked the process
  } kind = kEof;
  ChildReport report;
  UniqueFd fd;    // kTerminal, kRootReady
  pid_t pid = 0;  // kProcessStarted
};
// Parent: the next message. Throws Error on a malformed one.
ChildMessage receive_child_message(int sync_fd);

// Parent: the files a process joins cgroup through (Cgroup::self_join_files), opened by us:
// the kernel checks the opener's credentials. None for no cgroup. Throws Error.
struct CgroupJoinFiles {
  std::vector<UniqueFd> owned;
  std::vector<int> fds;
};
CgroupJoinFiles open_cgroup_join_files(const Cgroup* cgroup);

// Parent: the cgroup is ready ("C"), with the files the child joins it through. Returns 0 or
// an errno (EPIPE: the child has ended; its report, if any, is read by the monitor).
int send_cgroup_ready(int sync_fd, const CgroupJoinFiles& join) noexcept;
// Child: waits for "C" and moves itself into the cgroup through the files it carries.
// Returns 0 or an errno (EPIPE when the parent went away); *joining tells which step failed.
int wait_for_cgroup_and_join(int sync_fd, bool* joining) noexcept;

// Child: its root is ready ("P", with an fd of it). Returns 0 or an errno.
int send_root_ready(int sync_fd, int root_fd) noexcept;
// The exec helper: the process it forked (in the container's pid namespace) is pid.
int send_process_started(int sync_fd, pid_t pid) noexcept;
// Parent: the Landlock ruleset ("L"). Returns 0 or an errno (EPIPE: the child has ended).
int send_landlock(int sync_fd, int ruleset_fd) noexcept;
// Workload: waits for "L". Returns 0 with *ruleset_fd set, or an errno.
int wait_for_landlock(int sync_fd, int* ruleset_fd) noexcept;

// Child: waits for "G". Returns 0, or an errno (EPIPE when the parent went away).
// Async-signal-safe.
int wait_for_go(int sync_fd) noexcept;
// Child: waits for "M". Returns 0 with *tree_fd set, or an errno (EPIPE as above).
int wait_for_rootfs_tree(int sync_fd, int* tree_fd) noexcept;
// Parent: /dev's fixed tree, or -1 when the child is to build it. Returns 0 or an errno
// (EPIPE as above).
int send_dev_tree(int sync_fd, int tree_fd) noexcept;
// Child: waits for "D". Returns 0 with *tree_fd set (-1: none sent), or an errno.
int wait_for_dev_tree(int sync_fd, int* tree_fd) noexcept;

}  // namespace nucleus::native
