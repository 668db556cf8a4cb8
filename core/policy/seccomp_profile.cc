#include "core/policy/seccomp_profile.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <string_view>

namespace nucleus::seccomp {
namespace {

// ---- allowed for every workload ----------------------------------------------------------
// docker's default allow-list (moby/profiles seccomp/default.json) for x86_64 and aarch64,
// minus what the "knowingly excluded" block below names. Names that do not exist on the
// running architecture are skipped by the compiler.
constexpr std::string_view kAllowed[] = {
    // files and directories
    "access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir",
    "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "flock",
    "fstat", "fstatfs", "fsync", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64",
    "lchown", "link", "linkat", "lseek", "lstat", "mkdir", "mkdirat", "mknod", "mknodat",
    "newfstatat", "open", "openat", "openat2", "name_to_handle_at", "pread64", "preadv",
    "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
    "readv", "rename", "renameat", "renameat2", "rmdir", "sendfile", "splice", "stat", "statfs",
    "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate",
    "umask", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vmsplice", "write", "writev",
    "cachestat", "statmount", "listmount", "file_getattr", "file_setattr",
    // extended attributes
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr",
    "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr", "getxattrat",
    "listxattrat", "removexattrat", "setxattrat",
    // memory
    "brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
    "mlock", "mlock2", "mlockall", "mmap", "mprotect", "mremap", "mseal", "msync", "munlock",
    "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect", "get_mempolicy",
    "set_mempolicy", "mbind",
    // processes, threads, signals (clone, clone3, unshare, personality: argument rules below)
    "arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork",
    "get_robust_list", "get_thread_area", "getcpu", "getegid", "geteuid", "getgid", "getgroups",
    "getitimer", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getresgid",
    "getresuid", "getrlimit", "getrusage", "getsid", "gettid", "getuid", "ioprio_get",
    "ioprio_set", "kill", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
    "process_mrelease", "restart_syscall", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsuid",
    "setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid", "setresgid",
    "setresuid", "setreuid", "setrlimit", "setsid", "setuid", "sigaltstack", "tgkill", "tkill",
    "vfork", "wait4", "waitid", "uretprobe",
    // time (reading; adjtimex with modes != 0 needs CAP_SYS_TIME, refused by the kernel)
    "adjtimex", "alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "gettimeofday",
    "nanosleep", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime", "times",
    // waiting and events
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "eventfd", "eventfd2", "fanotify_mark", "futex", "futex_requeue", "futex_wait",
    "futex_waitv", "futex_wake", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "pause", "pipe", "pipe2", "poll", "ppoll", "pselect6", "select",
    "signalfd", "signalfd4",
    // asynchronous I/O (not io_uring)
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
    // sockets (socket itself: family allow-list below)
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
    "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
    // System V and POSIX IPC (namespaced)
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
    "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat",
    "shmctl", "shmdt", "shmget",
    // identity of the system (read-only), Landlock (can only restrict further)
    "getrandom", "sysinfo", "uname", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self",
    // ioctl: allowed, except TIOCSTI and TIOCLINUX (kDenied below)
    "ioctl",
};

// ---- knowingly excluded (default EPERM) ---------------------------------------------------
// Where Docker allows more, nucleus is stricter on purpose:
//   ptrace, process_vm_readv/writev, kcmp, pidfd_getfd, process_madvise: reading or driving
//     other processes (SYS-10); trusted may opt in with --cap-add SYS_PTRACE (row below);
//   modify_ldt: 16-bit segments, a history of kernel bugs, needed only by old emulators;
//   remap_file_pages: deprecated;
//   socket families other than unix, inet, inet6 and netlink-route (SYS-18);
//   clone/unshare with namespace flags, clone3 (ENOSYS), setns (SYS-02..04);
//   personality other than the five values libc and setarch use (SYS-13).
// And as in Docker: mount, umount2, pivot_root, chroot (trusted: with SYS_CHROOT),
// fsopen, fsconfig, fsmount, fspick, open_tree, move_mount, mount_setattr, open_tree_attr,
// sethostname, setdomainname, kexec_load, kexec_file_load, reboot, init_module,
// finit_module, delete_module, bpf, perf_event_open, userfaultfd, keyctl, add_key,
// request_key, open_by_handle_at, io_uring_setup, io_uring_enter, io_uring_register, acct,
// swapon, swapoff, quotactl, quotactl_fd, settimeofday, clock_settime, clock_adjtime
// (trusted: with SYS_TIME), iopl, ioperm, syslog, vhangup, lookup_dcookie, fanotify_init,
// lsm_get_self_attr, lsm_set_self_attr, lsm_list_modules, nfsservctl, uselib, ustat, sysfs,
// _sysctl, vm86, and every other ABI than the native one (SYS-17).

// Namespace creation flags (CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID |
// NEWNET), docker's 0x7E020000; unshare also checks CLONE_NEWTIME, which clone cannot carry.
constexpr uint64_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
constexpr uint64_t kUnshareNamespaceFlags = kCloneNamespaceFlags | CLONE_NEWTIME;
constexpr uint64_t kSocketTypeMask = 0xf;  // SOCK_TYPE_MASK: flags live in the high bits
constexpr uint64_t kLow32 = 0xffffffffu;   // ioctl's request is an unsigned int (CVE-2019-10063)

constexpr CapSet cap(int n) { return CapSet{1} << n; }
constexpr int kNetRaw = 13, kSysChroot = 18, kSysPtrace = 19, kSysTime = 25, kMknod = 27;

Rule allow(std::vector<std::string> names, std::vector<Arg> args = {}, std::string comment = {}) {
  Rule r;
  r.names = std::move(names);
  r.args = std::move(args);
  r.comment = std::move(comment);
  return r;
}

Rule deny_with(int err, std::vector<std::string> names, std::vector<Arg> args, std::string comment) {
  Rule r = allow(std::move(names), std::move(args), std::move(comment));
  r.action = Action::kErrno;
  r.errno_ret = err;
  return r;
}

Rule gated(Rule r, CapSet caps, bool trusted_only = false) {
  r.requires_caps = caps;
  r.trusted_only = trusted_only;
  return r;
}

Arg eq(unsigned index, uint64_t value) { return {index, Op::kEq, value, 0}; }
Arg masked(unsigned index, uint64_t mask, uint64_t value) { return {index, Op::kMaskedEq, mask, value}; }

Profile build_default() {
  Profile p;
  p.rules.push_back(allow({std::begin(kAllowed), std::end(kAllowed)}));
  // clone without namespace flags (fork, threads); clone3 hides its flags in memory the
  // filter cannot read, so it answers ENOSYS and libc falls back to clone (CVE-2021-41133).
  p.rules.push_back(allow({"clone"}, {masked(0, kCloneNamespaceFlags, 0)}, "no new namespaces"));
  p.rules.push_back(deny_with(ENOSYS, {"clone3"}, {}, "libc falls back to clone"));
  p.rules.push_back(allow({"unshare"}, {masked(0, kUnshareNamespaceFlags, 0)}, "CLONE_FILES/FS/SYSVSEM only"));
  // personality: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query.
  for (uint64_t v : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull}) {
    p.rules.push_back(allow({"personality"}, {eq(0, v)}));
  }
  // socket: unix, inet and inet6 streams and datagrams, netlink route (ip, getifaddrs).
  p.rules.push_back(allow({"socket", "socketpair"}, {eq(0, AF_UNIX)}));
  for (uint64_t family : {AF_INET, AF_INET6}) {
    for (uint64_t type : {SOCK_STREAM, SOCK_DGRAM}) {
      p.rules.push_back(allow({"socket"}, {eq(0, family), masked(1, kSocketTypeMask, type)}));
    }
  }
  p.rules.push_back(allow({"socket"}, {eq(0, AF_NETLINK), eq(2, 0 /* NETLINK_ROUTE */)}));
  // Terminal injection (CVE-2017-5226, CVE-2023-28100), on the low 32 bits only.
  p.rules.push_back(deny_with(EPERM, {"ioctl"}, {masked(1, kLow32, TIOCSTI)}, "TIOCSTI"));
  p.rules.push_back(deny_with(EPERM, {"ioctl"}, {masked(1, kLow32, TIOCLINUX)}, "TIOCLINUX"));

  // ---- capability-gated rows: only when the workload holds the capability ----------------
  p.rules.push_back(gated(allow({"chroot"}), cap(kSysChroot)));
  p.rules.push_back(gated(allow({"settimeofday", "clock_settime", "clock_adjtime"}), cap(kSysTime)));
  for (uint64_t family : {AF_INET, AF_INET6}) {
    p.rules.push_back(gated(allow({"socket"}, {eq(0, family), masked(1, kSocketTypeMask, SOCK_RAW)}),
                            cap(kNetRaw)));
  }
  p.rules.push_back(gated(allow({"socket"}, {eq(0, AF_PACKET)}), cap(kNetRaw)));
  p.rules.push_back(gated(allow({"ptrace", "process_vm_readv", "process_vm_writev", "kcmp"}),
                          cap(kSysPtrace), /*trusted_only=*/true));
  return p;
}

// ---- under gVisor: what nucleus-init itself may call once the workload runs ---------------
// Reading its signalfd, reaping, tracing (ptrace) and resuming, forwarding signals, writing
// one line to stderr, exiting; and what libc's abort path needs.
constexpr std::string_view kSupervisorCalls[] = {
    "read", "write", "close", "wait4", "waitid", "ptrace", "kill", "tgkill", "getpid",
    "gettid", "rt_sigprocmask", "rt_sigreturn", "restart_syscall", "munmap", "exit", "exit_group",
};

Profile build_supervisor() {
  Profile p;
  p.enosys_for_newer = false;
  p.rules.push_back(allow({std::begin(kSupervisorCalls), std::end(kSupervisorCalls)}));
  return p;
}

Rule trace(std::vector<std::string> names, std::vector<Arg> args, std::string comment) {
  Rule r = allow(std::move(names), std::move(args), std::move(comment));
  r.action = Action::kTrace;
  return r;
}

std::string op_name(Op op) {
  static constexpr const char* kNames[] = {"eq", "ne", "lt", "le", "gt", "ge", "masked_eq"};
  return kNames[static_cast<int>(op)];
}

}  // namespace

const Profile& default_profile() {
  static const Profile profile = build_default();
  return profile;
}

Profile for_sentry(const std::optional<Profile>& profile, const SentryGaps& gaps, CapSet caps) {
  Profile out;
  if (profile) {
    out = *profile;
  } else {
    out.default_action = Action::kAllow;
    out.enosys_for_newer = false;
  }
  if (gaps.unchecked_mknod && (caps & cap(kMknod)) == 0) {
    // What the kernel's CAP_MKNOD check does natively (FIFOs and regular files stay allowed).
    for (uint64_t type : {S_IFCHR, S_IFBLK}) {
      out.rules.push_back(deny_with(EPERM, {"mknod"}, {masked(1, S_IFMT, type)}, "device node without CAP_MKNOD"));
      out.rules.push_back(deny_with(EPERM, {"mknodat"}, {masked(2, S_IFMT, type)}, "device node without CAP_MKNOD"));
    }
  }
  if (gaps.rejects_no_automount) {
    out.rules.push_back(trace({"statx"}, {masked(2, AT_NO_AUTOMOUNT, AT_NO_AUTOMOUNT)}, "nucleus-init clears the flag"));
    out.rules.push_back(trace({"newfstatat"}, {masked(3, AT_NO_AUTOMOUNT, AT_NO_AUTOMOUNT)}, "nucleus-init clears the flag"));
  }
  return out;
}

const Profile& supervisor_profile() {
  static const Profile profile = build_supervisor();
  return profile;
}

Profile resolve(const Profile& profile, const Conditions& when) {
  Profile out{.default_action = profile.default_action, .default_errno = profile.default_errno,
              .rules = {}, .enosys_for_newer = profile.enosys_for_newer};
  out.rules.reserve(profile.rules.size());
  for (const Rule& r : profile.rules) {
    if ((r.requires_caps & when.caps) != r.requires_caps) continue;
    if ((r.excludes_caps & when.caps) != 0) continue;
    if (r.trusted_only && !when.trusted) continue;
    Rule kept = r;
    kept.requires_caps = kept.excludes_caps = 0;
    kept.trusted_only = false;
    out.rules.push_back(std::move(kept));
  }
  return out;
}

std::string serialize(const Profile& profile) {
  std::string out = "default " + std::to_string(static_cast<int>(profile.default_action)) + " " +
                    std::to_string(profile.default_errno) + (profile.enosys_for_newer ? " enosys" : "") + "\n";
  out.reserve(64 * profile.rules.size() + 64);  // one allocation for the default's 8 KiB
  for (const Rule& r : profile.rules) {
    out += std::to_string(static_cast<int>(r.action)) + " " + std::to_string(r.errno_ret);
    for (const Arg& a : r.args) {
      out += " a" + std::to_string(a.index) + ":" + op_name(a.op) + ":" + std::to_string(a.value) + ":" +
             std::to_string(a.value_two);
    }
    out += " caps=" + std::to_string(r.requires_caps) + "/" + std::to_string(r.excludes_caps) +
           (r.trusted_only ? " trusted" : "") + " :";
    for (const std::string& n : r.names) out += " " + n;
    out += "\n";
  }
  return out;
}

}  // namespace nucleus::seccomp
