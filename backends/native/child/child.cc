#include "backends/native/child/child.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/native/layers/capabilities.h"
#include "backends/native/child/child_steps.h"
#include "backends/native/layers/landlock.h"
#include "core/sys/trace_timing.h"
#include "core/policy/rlimits.h"
#include "core/policy/seccomp_compile.h"
#include "backends/native/child/handshake.h"
#include "core/container/child_report.h"
#include "core/sys/exit_codes.h"
#include "core/init/supervisor.h"
#include "core/sys/sys.h"

// ---- Begin code running in the child process: no allocation, no exceptions, no output ----
namespace nucleus::native {
namespace {

struct Child {
  LaunchPlan* plan;
  int sync_fd;
};

void write_stderr(const char* text) noexcept { (void)sys::write_all(2, text, strlen(text)); }

[[noreturn]] void die(const Child& c, ChildStep step, int err, int index = -1,
                      int code = exit_code::kRuntimeError) noexcept {
  if (c.sync_fd >= 0) {
    send_child_report(c.sync_fd, static_cast<uint16_t>(step), err, index);
  } else {
    // An OCI container after `create` returned: nobody reads the sync socket any more, the
    // container's stderr (conmon's log) is where it is said.
    write_stderr(step == ChildStep::kExec ? "nucleus: exec " : "nucleus: start the container: ");
    if (step == ChildStep::kExec) {
      write_stderr(c.plan->exec_path.data());
      write_stderr(": ");
    }
    write_stderr(strerrordesc_np(err));
    write_stderr("\n");
  }
  _exit(code);
}

// Like execvp's search, over the container's PATH, without exec: an OCI `create` must
// fail for a missing command, not the later `start`. The path goes into plan.exec_path.
int find_command(LaunchPlan& plan) noexcept {
  const char* name = plan.argv[0];
  char* out = plan.exec_path.data();
  size_t cap = plan.exec_path.size();
  auto usable = [](const char* path) noexcept -> int {
    struct stat st;
    if (stat(path, &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EACCES;
    return access(path, X_OK) == 0 ? 0 : errno;
  };
  size_t name_len = strlen(name);
  if (strchr(name, '/') != nullptr) {
    if (name_len + 1 > cap) return ENAMETOOLONG;
    memcpy(out, name, name_len + 1);
    return usable(out);
  }
  int last = ENOENT;
  const char* dir = plan.search_path.c_str();
  for (;;) {
    const char* end = strchr(dir, ':');
    size_t dir_len = end ? static_cast<size_t>(end - dir) : strlen(dir);
    if (dir_len > 0 && dir_len + 1 + name_len < cap) {
      memcpy(out, dir, dir_len);
      out[dir_len] = '/';
      memcpy(out + dir_len + 1, name, name_len + 1);
      int err = usable(out);
      if (err == 0) return 0;
      if (err == EACCES) last = EACCES;
    }
    if (end == nullptr) break;
    dir = end + 1;
  }
  memcpy(out, name, name_len + 1 < cap ? name_len + 1 : cap);
  return last;
}

// The OCI terminal: a pty of the container's own devpts, its master to the parent (which
// passes it to the console socket), its peer as stdio and controlling terminal.
int set_up_terminal(const LaunchPlan& plan, int sync_fd) noexcept {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return errno;
  int unlock = 0;
  int rc = ioctl(master, TIOCSPTLCK, &unlock);
  int peer = rc == 0 ? ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY) : -1;
  if (peer >= 0 && (plan.oci.rows != 0 || plan.oci.columns != 0)) {
    winsize ws = {};
    ws.ws_row = plan.oci.rows;
    ws.ws_col = plan.oci.columns;
    ioctl(peer, TIOCSWINSZ, &ws);
  }
  int err = peer < 0 ? errno : send_terminal(sync_fd, master);
  ::close(master);
  if (err != 0) return err;
  for (int fd = 0; fd <= 2; ++fd) {
    if (dup2(peer, fd) < 0) return errno;
  }
  if (peer > 2) ::close(peer);
  return ioctl(0, TIOCSCTTY, 0) == 0 ? 0 : errno;
}

// `nucleus start` opens the state directory's exec.fifo for reading; this open for writing
// blocks until then (runc's exec.fifo). Reopened through /proc so the fd needs no path.
int wait_for_start(int fifo_fd) noexcept {
  char path[32];
  sys::proc_fd_path(fifo_fd, path);
  int fd;
  do {
    fd = open(path, O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  char byte = '0';
  int err = sys::write_all(fd, &byte, 1);
  ::close(fd);
  ::close(fifo_fd);
  return err;
}

// In a new user namespace we start as the overflow uid; become the namespace's root so
// that files we create are owned by a mapped id, and drop the caller's groups.
int become_namespace_root(const LaunchPlan& plan) noexcept {
  if (setresgid(0, 0, 0) != 0) return errno;
  if (!plan.ids.deny_setgroups && setgroups(0, nullptr) != 0) return errno;
  if (setresuid(0, 0, 0) != 0) return errno;
  return 0;
}

// PR_SET_PDEATHSIG is cleared by credential changes, so it is armed after them; a parent
// that died before it was armed has closed its end of the socket.
int die_with_parent(int sync_fd) noexcept {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return errno;
  pollfd p = {sync_fd, POLLIN, 0};
  if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR))) return EPIPE;
  return 0;
}

int bring_up_loopback() noexcept {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  ifreq ifr = {};
  memcpy(ifr.ifr_name, "lo", 3);
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int saved = errno;
  ::close(s);
  return rc == 0 ? 0 : saved;
}

// execvpe over the container's PATH (glibc's would search nucleus's own PATH). The
// errno follows execvp: EACCES if any candidate was not executable, else the last error.
int exec_command(const LaunchPlan& plan) noexcept {
  char* const* argv = plan.argv.data();
  char* const* envp = plan.envp.data();
  const char* name = argv[0];
  if (strchr(name, '/') != nullptr) {
    execve(name, argv, envp);
    return errno;
  }
  size_t name_len = strlen(name);
  bool saw_eacces = false;
  const char* dir = plan.search_path.c_str();
  for (;;) {
    const char* end = strchr(dir, ':');
    size_t dir_len = end ? static_cast<size_t>(end - dir) : strlen(dir);
    char path[PATH_MAX];
    if (dir_len > 0 && dir_len + 1 + name_len < sizeof path) {
      memcpy(path, dir, dir_len);
      path[dir_len] = '/';
      memcpy(path + dir_len + 1, name, name_len + 1);
      execve(path, argv, envp);
      switch (errno) {
        case EACCES: saw_eacces = true; break;
        case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: break;
        default: return errno;
      }
    }
    if (end == nullptr) break;
    dir = end + 1;
  }
  return saw_eacces ? EACCES : ENOENT;
}

ChildStep cap_step(CapStep step, IdentityStep identity) noexcept {
  switch (step) {
    case CapStep::kBounding: return ChildStep::kBoundingSet;
    case CapStep::kKeepCaps: return ChildStep::kKeepCaps;
    case CapStep::kCapset: return ChildStep::kCapset;
    case CapStep::kAmbient: return ChildStep::kAmbient;
    default: break;
  }
  return identity == IdentityStep::kSetgroups ? ChildStep::kSetgroups
         : identity == IdentityStep::kSetgid  ? ChildStep::kSetgid
                                              : ChildStep::kSetuid;
}

// The workload process, under the supervisor (forked) or as PID 1 itself (--no-init).
// Each layer is ordered for a reason:
//  - setsid first: without a controlling terminal TIOCSTI has nothing to reach (SYS-15);
//  - the bounding set before the uid change (it needs CAP_SETPCAP), capset after it;
//  - Landlock after the capability sets (restrict_self needs no_new_privs, set at start);
//  - fds above 2 close-on-exec (CVE-2024-21626);
//  - seccomp last: a --seccomp profile may refuse the privilege-dropping calls before it.
//    nucleus's own profile allows them, so under the supervisor its filter is already in
//    place, inherited from PID 1 (LaunchPlan::seccomp_from_supervisor).
//  Only a test-only run without no_new_privs differs: Landlock and seccomp then need
//  CAP_SYS_ADMIN, so they go in before the capabilities are dropped.
int start_workload(void* ctx) noexcept {
  // A copy: under the supervisor this runs in the supervisor's memory until exec, and the
  // supervisor still needs its sync_fd after we drop ours.
  Child c = *static_cast<const Child*>(ctx);
  LaunchPlan& plan = *c.plan;
  timing::mark("workload: forked");
  if (setsid() < 0) die(c, ChildStep::kNewSession, errno);
  if (plan.oci.terminal) {
    if (int err = set_up_terminal(plan, c.sync_fd)) die(c, ChildStep::kTerminal, err);
  }
  if (plan.oci.set_umask) umask(static_cast<mode_t>(plan.oci.umask));
  if (!plan.no_new_privs) {
    if (int err = apply_landlock(plan.landlock, -1)) die(c, ChildStep::kLandlock, err);
    if (int err = load_seccomp(plan.seccomp)) die(c, ChildStep::kSeccomp, err);
  }
  CapStep cap_failed = CapStep::kNone;
  IdentityStep id_failed = IdentityStep::kNone;
  if (int err = apply_capabilities_and_identity(plan.capabilities, plan.child_identity, &cap_failed, &id_failed)) {
    die(c, cap_step(cap_failed, id_failed), err);
  }
  timing::mark("workload: capabilities and identity set");
  if (plan.no_new_privs) {
    int ruleset = -1;
    if (plan.landlock_from_parent) {
      if (int err = wait_for_landlock(c.sync_fd, &ruleset)) die(c, ChildStep::kLandlock, err);
    }
    if (int err = apply_landlock(plan.landlock, ruleset)) die(c, ChildStep::kLandlock, err);
  }
  timing::mark("workload: Landlock applied");
  if (sys::raw_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) die(c, ChildStep::kCloseFds, errno);
  if (plan.oci.enabled) {
    if (int err = find_command(plan)) {
      die(c, ChildStep::kFindCommand, err, -1, err == ENOENT || err == ENOTDIR ? exit_code::kNotFound : exit_code::kCannotExecute);
    }
    if (int err = send_ready(c.sync_fd)) die(c, ChildStep::kReady, err);
    ::close(c.sync_fd);
    c.sync_fd = -1;  // from here on, failures go to the container's stderr
    // Nothing of nucleus's stays open while the container waits: not the record's lock
    // (`start` takes it), not the caller's other fds.
    unsigned fifo = static_cast<unsigned>(plan.oci.exec_fifo_fd);
    if (fifo > 3) sys::raw_close_range(3, fifo - 1, 0);
    sys::raw_close_range(fifo + 1, ~0U, 0);
    if (int err = wait_for_start(plan.oci.exec_fifo_fd)) die(c, ChildStep::kWaitForStart, err);
  }
  if (plan.no_new_privs && !plan.seccomp_from_supervisor) {
    if (int err = load_seccomp(plan.seccomp)) die(c, ChildStep::kSeccomp, err);
  }
  timing::mark("workload: seccomp in place, exec");
  if (plan.oci.enabled) {
    execve(plan.exec_path.data(), plan.argv.data(), plan.envp.data());
    int err = errno;
    die(c, ChildStep::kExec, err, -1, err == ENOENT || err == ENOTDIR ? exit_code::kNotFound : exit_code::kCannotExecute);
  }
  int err = exec_command(plan);
  die(c, ChildStep::kExec, err, -1,
      err == ENOENT || err == ENOTDIR ? exit_code::kNotFound : exit_code::kCannotExecute);
}

// Both the container's init and an `exec`'d process: cwd, rlimits, oom_score_adj.
void enter_workdir_and_limits(const Child& c) noexcept {
  const LaunchPlan& plan = *c.plan;
  int index = -1;
  if (chdir(plan.workdir.c_str()) != 0) die(c, ChildStep::kWorkdir, errno);
  if (int err = apply_rlimits(plan.rlimits, &index)) die(c, ChildStep::kRlimit, err, index);
  if (plan.oci.set_oom_score) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    int err = fd < 0 ? errno : sys::write_all(fd, plan.oci.oom_score_text.data(), plan.oci.oom_score_text.size());
    if (fd >= 0) ::close(fd);
    if (err != 0) die(c, ChildStep::kOomScore, err);
  }
}

// The supervisor, right after forking the workload: it keeps CAP_KILL (to forward signals
// to a workload of another uid) and nothing else, takes the workload's seccomp filter (if
// it did not load it before the fork), and only then lets go of the sync socket, so a
// failure here still reaches the parent.
void lock_down_supervisor(void* ctx) noexcept {
  const Child& c = *static_cast<Child*>(ctx);
  // The filter first: without no_new_privs (a test-only run) it needs CAP_SYS_ADMIN.
  if (!c.plan->seccomp_from_supervisor) {
    if (int err = load_seccomp(c.plan->seccomp)) die(c, ChildStep::kSupervisorLockdown, err);
  }
  if (int err = drop_supervisor_capabilities(c.plan->capabilities.last_cap)) die(c, ChildStep::kSupervisorLockdown, err);
  ::close(c.sync_fd);
  // From here PID 1 only waits, forwards and reaps: a few pages of the code start-up ran,
  // and nothing on the heap (it allocates nothing in its whole life as a copy of nucleus).
  sys::release_startup_pages(/*including_heap=*/true);
}

// "C": the cgroup is ready; we move ourselves in through the files it carries.
void join_cgroup(const Child& c) noexcept {
  bool joining = false;
  if (int err = wait_for_cgroup_and_join(c.sync_fd, &joining)) {
    die(c, joining ? ChildStep::kJoinCgroup : ChildStep::kWaitForCgroup, err);
  }
}

}  // namespace

void run_exec_child(LaunchPlan& plan, int sync_fd) noexcept {
  Child c{&plan, sync_fd};
  if (plan.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(c, ChildStep::kNoNewPrivs, errno);
  enter_workdir_and_limits(c);
  init::prepare_signals_for_exec();
  start_workload(&c);
  _exit(exit_code::kRuntimeError);
}

void run_child(LaunchPlan& plan, int sync_fd) noexcept {
  Child c{&plan, sync_fd};
  if (int err = wait_for_go(sync_fd)) die(c, ChildStep::kWaitForParent, err);
  // The caller's CPUs back (clone.h: start_child_elsewhere), after "G": the parent moved us
  // before sending it, so its move cannot come after this.
  if (plan.restore_affinity && sched_setaffinity(0, sizeof plan.affinity, &plan.affinity) != 0) {
    die(c, ChildStep::kAffinity, errno);
  }
  timing::mark("child: released");
  if (plan.cgroup_join == LaunchPlan::CgroupJoin::kAfterGo) join_cgroup(c);
  for (size_t i = 0; i < plan.oci.join_fds.size(); ++i) {
    if (setns(plan.oci.join_fds[i], plan.oci.join_types[i]) != 0) die(c, ChildStep::kJoinNamespace, errno, static_cast<int>(i));
    ::close(plan.oci.join_fds[i]);
  }
  if (plan.user_namespace) {
    if (int err = become_namespace_root(plan)) die(c, ChildStep::kBecomeRoot, err);
  }
  // An OCI container outlives the nucleus that creates it; a `run` container dies with it.
  if (!plan.oci.enabled) {
    if (int err = die_with_parent(sync_fd)) die(c, ChildStep::kParentDeathSignal, err);
  }
  // The container's cgroup becomes our cgroup root, so /proc/self/cgroup shows "/" and no
  // path of the host's hierarchy: here when the parent has put us there before "G", after
  // "C" otherwise.
  if (plan.cgroup_join != LaunchPlan::CgroupJoin::kAfterRoot && (!plan.oci.enabled || plan.oci.new_cgroup_namespace)) {
    if (unshare(CLONE_NEWCGROUP) != 0) die(c, ChildStep::kCgroupNamespace, errno);
  }
  // Before any mount, and inherited by everything below: no exec can gain privileges.
  if (plan.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(c, ChildStep::kNoNewPrivs, errno);
  if (!plan.hostname.empty() && sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    die(c, ChildStep::kHostname, errno);
  }
  if (!plan.oci.domainname.empty() && setdomainname(plan.oci.domainname.data(), plan.oci.domainname.size()) != 0) {
    die(c, ChildStep::kDomainname, errno);
  }
  if (plan.bring_up_loopback) {
    if (int err = bring_up_loopback()) die(c, ChildStep::kLoopback, err);
  }

  timing::mark("child: namespaces set up");
  int tree_fd = -1;
  if (plan.idmapped_rootfs) {
    if (int err = wait_for_rootfs_tree(sync_fd, &tree_fd)) die(c, ChildStep::kWaitForParent, err);
  }
  int step = 0;
  int index = -1;
  RootFds fds{.staging_sources = &plan.staging_source_fds,
              .root_sources = &plan.root_source_fds,
              .moved_tree = tree_fd,
              .dev_sources = &plan.dev_source_fds,
              .sync_fd = sync_fd};
  if (int err = enter_root(plan.root, fds, &step, &index)) die(c, static_cast<ChildStep>(step), err, index);
  timing::mark("child: root entered (pivot_root)");
  if (plan.landlock_from_parent) {
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int err = root < 0 ? errno : send_root_ready(sync_fd, root);
    if (root >= 0) ::close(root);
    if (err != 0) die(c, ChildStep::kLandlock, err);
  }
  enter_workdir_and_limits(c);
  if (plan.cgroup_join == LaunchPlan::CgroupJoin::kAfterRoot) {
    join_cgroup(c);
    if (unshare(CLONE_NEWCGROUP) != 0) die(c, ChildStep::kCgroupNamespace, errno);
    timing::mark("child: in its cgroup");
  }

  if (!plan.init) {
    init::prepare_signals_for_exec();
    start_workload(&c);
  }
  // PID 1 keeps only the sync socket (until the workload is forked) and stdio.
  if (sync_fd > 3) sys::raw_close_range(3, static_cast<unsigned>(sync_fd) - 1, 0);
  sys::raw_close_range(static_cast<unsigned>(sync_fd) + 1, ~0U, 0);
  prctl(PR_SET_NAME, "nucleus-init", 0, 0, 0);
  // The supervisor is a copy of nucleus: nothing inside may read or ptrace it, nor open
  // its /proc/1/exe (CVE-2016-9962, CVE-2019-5736).
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (plan.seccomp_from_supervisor) {
    if (int err = load_seccomp(plan.seccomp)) die(c, ChildStep::kSupervisorLockdown, err);
    timing::mark("init: seccomp loaded (the workload inherits it)");
  }
  int code = exit_code::kRuntimeError;
  if (int err = init::supervise(start_workload, lock_down_supervisor, &c, &code)) {
    die(c, ChildStep::kSupervisor, err);
  }
  timing::mark("init: workload reaped, exiting");
  _exit(code);
}

}  // namespace nucleus::native
// ---- End code running in the child process ----------------------------------------------
