// The workload's own steps, from its fork (or PID 1's, with --no-init) to its exec: the
// session, the terminal, the capabilities and identity, the one PATH lookup, "ready" and
// the wait for start, Landlock, seccomp; and an `exec`'d process, which takes the same steps.
#include "backends/native/child/child.h"
#include "backends/native/child/child_context.h"

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
#include <utility>

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
namespace child_internal {
namespace {

void write_stderr(const char* text) noexcept { (void)sys::write_all(2, text, strlen(text)); }

}  // namespace

[[noreturn]] void die(const Child& c, ChildStep step, int err, int index, int code) noexcept {
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

void close_all_but(int a, int b, unsigned from) noexcept {
  if (a > b) std::swap(a, b);
  for (int keep : {a, b}) {
    if (keep < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(keep) > from) sys::raw_close_range(from, static_cast<unsigned>(keep) - 1, 0);
    from = static_cast<unsigned>(keep) + 1;
  }
  sys::raw_close_range(from, ~0U, 0);
}

// In a new user namespace we start as the overflow uid; become the namespace's root so
// that files we create are owned by a mapped id, and drop the caller's groups.

namespace {

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
  if (peer >= 0 && (plan.rows != 0 || plan.columns != 0)) {
    winsize ws = {};
    ws.ws_row = plan.rows;
    ws.ws_col = plan.columns;
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
// A `run` that claimed its record after the clone gave it a start pipe instead, whose
// reader (nucleus) is there already.
int wait_for_start(int fifo_fd, LaunchPlan::StartSignal how) noexcept {
  int fd = fifo_fd;
  if (how != LaunchPlan::StartSignal::kPipe) {
    char path[32];
    sys::proc_fd_path(fifo_fd, path);
    do {
      fd = how == LaunchPlan::StartSignal::kFifoInDir ? openat(fifo_fd, "exec.fifo", O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
                                                      : open(path, O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno;
  }
  char byte = '0';
  int err = sys::write_all(fd, &byte, 1);
  if (fd != fifo_fd) ::close(fd);
  ::close(fifo_fd);
  return err;
}

void wait_for_start_when_ready(Child& c, int keep) noexcept {
  LaunchPlan& plan = *c.plan;
  // The fds --preserve-fds passes stay open across exec; nothing else of nucleus's does.
  const unsigned first_unpreserved = 3 + plan.preserve_fds;
  if (sys::raw_close_range(first_unpreserved, ~0U, CLOSE_RANGE_CLOEXEC) != 0) die(c, ChildStep::kCloseFds, errno);
  for (unsigned fd = 3; fd < first_unpreserved; ++fd) {
    if (fcntl(static_cast<int>(fd), F_SETFD, 0) != 0) die(c, ChildStep::kCloseFds, errno);
  }
  if (int err = find_command(plan)) {
    die(c, ChildStep::kFindCommand, err, -1, err == ENOENT || err == ENOTDIR ? exit_code::kNotFound : exit_code::kCannotExecute);
  }
  if (plan.exec_fifo_fd < 0) return;  // an exec'd process: it runs at once
  if (int err = send_ready(c.sync_fd)) die(c, ChildStep::kReady, err);
  ::close(c.sync_fd);
  c.sync_fd = -1;  // from here on, failures go to the container's stderr
  close_all_but(plan.exec_fifo_fd, keep, first_unpreserved);
  if (int err = wait_for_start(plan.exec_fifo_fd, plan.start_signal)) die(c, ChildStep::kWaitForStart, err);
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
//  - fds above 2 close-on-exec (CVE-2024-21626), the command found, "ready", and the wait
//    for start on exec.fifo, which lives outside the root (run: the start pipe);
//  - Landlock after that (restrict_self needs no_new_privs, set at start; it would refuse
//    the fifo);
//  - seccomp last: a --seccomp profile may refuse the privilege-dropping calls before it.
//    nucleus's own profile allows them, so under the supervisor its filter is already in
//    place, inherited from PID 1 (LaunchPlan::seccomp_from_supervisor).
//  Only a test-only run without no_new_privs differs: Landlock and seccomp then need
//  CAP_SYS_ADMIN, so they go in before the capabilities are dropped.
}  // namespace

int start_workload(void* ctx) noexcept {
  // A copy: under the supervisor this runs in the supervisor's memory until exec, and the
  // supervisor still needs its sync_fd after we drop ours.
  Child c = *static_cast<const Child*>(ctx);
  LaunchPlan& plan = *c.plan;
  timing::mark("workload: forked");
  if (setsid() < 0) die(c, ChildStep::kNewSession, errno);
  if (plan.terminal) {
    if (int err = set_up_terminal(plan, c.sync_fd)) die(c, ChildStep::kTerminal, err);
  }
  if (plan.umask) umask(*plan.umask);
  if (!plan.no_new_privs) {
    // Test-only (no no_new_privs): Landlock and seccomp need CAP_SYS_ADMIN, so they come
    // before the capabilities go, and so after the wait for start (Landlock would refuse
    // the exec.fifo outside the root).
    wait_for_start_when_ready(c, -1);
    if (int err = apply_landlock(plan.landlock, -1)) die(c, ChildStep::kLandlock, err);
    if (int err = load_seccomp(plan.seccomp)) die(c, ChildStep::kSeccomp, err);
  }
  CapStep cap_failed = CapStep::kNone;
  IdentityStep id_failed = IdentityStep::kNone;
  if (int err = apply_capabilities_and_identity(plan.capabilities, plan.child_identity, &cap_failed, &id_failed)) {
    die(c, cap_step(cap_failed, id_failed), err);
  }
  timing::mark("workload: capabilities and identity set");
  // The Landlock ruleset the parent built from our root ("L").
  int ruleset = -1;
  if (plan.no_new_privs && plan.landlock_from_parent) {
    if (int err = wait_for_landlock(c.sync_fd, &ruleset)) die(c, ChildStep::kLandlock, err);
  }
  if (plan.no_new_privs) {
    wait_for_start_when_ready(c, ruleset);
    if (int err = apply_landlock(plan.landlock, ruleset)) die(c, ChildStep::kLandlock, err);
  }
  timing::mark("workload: Landlock applied");
  if (plan.no_new_privs && !plan.seccomp_from_supervisor) {
    if (int err = load_seccomp(plan.seccomp)) die(c, ChildStep::kSeccomp, err);
  }
  timing::mark("workload: seccomp in place, exec");
  execve(plan.exec_path.data(), plan.argv.data(), plan.envp.data());
  int err = errno;
  die(c, ChildStep::kExec, err, -1, err == ENOENT || err == ENOTDIR ? exit_code::kNotFound : exit_code::kCannotExecute);
}

// Both the container's init and an `exec`'d process: cwd, rlimits, oom_score_adj.

}  // namespace child_internal



}  // namespace nucleus::native
// ---- End code running in the child process ----------------------------------------------
