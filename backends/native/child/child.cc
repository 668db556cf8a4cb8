// The container\'s init: the child cloned into the new namespaces, as a list of named steps
// in kernel order (run_child), then the PID-1 supervisor or the workload itself.
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
namespace {

using namespace child_internal;

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

// Every fd above 2 close-on-exec (CVE-2024-21626); the one PATH lookup, before the
// container is reported ready, so that a missing command fails `create` (127), not the later
// `start`; "R"; then the wait on exec.fifo (run: the start pipe), with nothing of nucleus's
// left open but it and `keep` (the Landlock ruleset).
void enter_workdir_and_limits(const Child& c) noexcept {
  const LaunchPlan& plan = *c.plan;
  int index = -1;
  if (chdir(plan.workdir.c_str()) != 0) die(c, ChildStep::kWorkdir, errno);
  if (int err = apply_rlimits(plan.rlimits, &index)) die(c, ChildStep::kRlimit, err, index);
  if (!plan.oom_score_text.empty()) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    int err = fd < 0 ? errno : sys::write_all(fd, plan.oom_score_text.data(), plan.oom_score_text.size());
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
  if (c.plan->exec_fifo_fd >= 0) ::close(c.plan->exec_fifo_fd);  // the workload's own copy is what counts
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

// ---- the container's init, step by step (run_child) --------------------------------------

// The network namespace the clone left out (LaunchPlan::unshare_network): made while the
// parent writes our id maps. Our new user namespace gives us CAP_SYS_ADMIN for it already.
// The one step before "G": a failure here is reported as any other (the parent looks for
// the report when its own next step fails, native_create.cc).
void make_network_namespace(const Child& c) noexcept {
  if (c.plan->unshare_network && unshare(CLONE_NEWNET) != 0) die(c, ChildStep::kNetworkNamespace, errno);
}

// "G": the uid/gid maps exist from now on. The caller's CPUs back (clone.h:
// start_child_elsewhere), after "G": the parent moved us before sending it, so its move
// cannot come after this.
void wait_for_release(const Child& c) noexcept {
  const LaunchPlan& plan = *c.plan;
  if (int err = wait_for_go(c.sync_fd)) die(c, ChildStep::kWaitForParent, err);
  if (plan.restore_affinity && sched_setaffinity(0, sizeof plan.affinity, &plan.affinity) != 0) {
    die(c, ChildStep::kAffinity, errno);
  }
  timing::mark("child: released");
}

// The namespaces a config names by path (fds the parent opened).
void join_namespaces(const Child& c) noexcept {
  const LaunchPlan& plan = *c.plan;
  for (size_t i = 0; i < plan.join_fds.size(); ++i) {
    if (setns(plan.join_fds[i], plan.join_types[i]) != 0) die(c, ChildStep::kJoinNamespace, errno, static_cast<int>(i));
    ::close(plan.join_fds[i]);
  }
}

// Root of the new user namespace: files created from here on belong to a mapped id.
void become_root_inside(const Child& c) noexcept {
  if (!c.plan->user_namespace) return;
  if (int err = become_namespace_root(*c.plan)) die(c, ChildStep::kBecomeRoot, err);
}

// A container held by its maker dies with it (armed after the credential change, which
// clears it); an OCI container outlives `create`.
void tie_to_parent(const Child& c) noexcept {
  if (!c.plan->tied_to_parent) return;
  if (int err = die_with_parent(c.sync_fd)) die(c, ChildStep::kParentDeathSignal, err);
}

// The container's cgroup becomes our cgroup root, so /proc/self/cgroup shows "/" and no
// path of the host's hierarchy: only once we are in it.
void enter_cgroup_namespace(const Child& c) noexcept {
  if (c.plan->new_cgroup_namespace && unshare(CLONE_NEWCGROUP) != 0) die(c, ChildStep::kCgroupNamespace, errno);
}

// Before any mount, and inherited by everything below: no exec can gain privileges.
void forbid_new_privileges(const Child& c) noexcept {
  if (c.plan->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(c, ChildStep::kNoNewPrivs, errno);
}

// Hostname, domainname, and the loopback a new network namespace starts without.
void set_up_names_and_loopback(const Child& c) noexcept {
  const LaunchPlan& plan = *c.plan;
  if (!plan.hostname.empty() && sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    die(c, ChildStep::kHostname, errno);
  }
  if (!plan.domainname.empty() && setdomainname(plan.domainname.data(), plan.domainname.size()) != 0) {
    die(c, ChildStep::kDomainname, errno);
  }
  if (plan.bring_up_loopback) {
    if (int err = bring_up_loopback()) die(c, ChildStep::kLoopback, err);
  }
  timing::mark("child: namespaces set up");
}

// The root (rootfs.h): the id-mapped rootfs ("M") and /dev ("D") as the parent sends them,
// pivot_root; then, where the parent builds the Landlock ruleset, our root for it ("P").
void enter_the_root(Child& c) noexcept {
  LaunchPlan& plan = *c.plan;
  int tree_fd = -1;
  if (plan.idmapped_rootfs) {
    if (int err = wait_for_rootfs_tree(c.sync_fd, &tree_fd)) die(c, ChildStep::kWaitForParent, err);
  }
  int step = 0;
  int index = -1;
  RootFds fds{.staging_sources = &plan.staging_source_fds,
              .root_sources = &plan.root_source_fds,
              .moved_tree = tree_fd,
              .dev_sources = &plan.dev_source_fds,
              .sync_fd = c.sync_fd};
  if (int err = enter_root(plan.root, fds, &step, &index)) die(c, static_cast<ChildStep>(step), err, index);
  timing::mark("child: root entered (pivot_root)");
  if (plan.landlock_from_parent) {
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int err = root < 0 ? errno : send_root_ready(c.sync_fd, root);
    if (root >= 0) ::close(root);
    if (err != 0) die(c, ChildStep::kLandlock, err);
  }
}

// "C" once the root is built (the parent made the cgroup meanwhile), then its namespace.
void join_cgroup_after_root(const Child& c) noexcept {
  if (c.plan->cgroup_join != LaunchPlan::CgroupJoin::kAfterRoot) return;
  join_cgroup(c);
  enter_cgroup_namespace(c);
  timing::mark("child: in its cgroup");
}

// PID 1: the supervisor in front of the workload, or (--no-init, an OCI container) the
// workload itself.
[[noreturn]] void become_init(Child& c) noexcept {
  LaunchPlan& plan = *c.plan;
  if (!plan.init) {
    init::prepare_signals_for_exec();
    start_workload(&c);
    _exit(exit_code::kRuntimeError);
  }
  // PID 1 keeps only stdio, the sync socket and the exec fifo (or start pipe) the workload
  // waits on, until the workload is forked (lock_down_supervisor).
  close_all_but(c.sync_fd, plan.exec_fifo_fd, 3 + plan.preserve_fds);
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

}  // namespace

void run_exec_child(LaunchPlan& plan, int sync_fd) noexcept {
  Child c{&plan, sync_fd};
  forbid_new_privileges(c);
  enter_workdir_and_limits(c);
  init::prepare_signals_for_exec();
  start_workload(&c);
  _exit(exit_code::kRuntimeError);
}

void run_child(LaunchPlan& plan, int sync_fd) noexcept {
  Child c{&plan, sync_fd};
  make_network_namespace(c);
  wait_for_release(c);
  if (plan.cgroup_join == LaunchPlan::CgroupJoin::kAfterGo) join_cgroup(c);
  join_namespaces(c);
  become_root_inside(c);
  tie_to_parent(c);
  if (plan.cgroup_join != LaunchPlan::CgroupJoin::kAfterRoot) enter_cgroup_namespace(c);
  forbid_new_privileges(c);
  set_up_names_and_loopback(c);
  enter_the_root(c);
  enter_workdir_and_limits(c);
  join_cgroup_after_root(c);
  become_init(c);
}


}  // namespace nucleus::native
// ---- End code running in the child process ----------------------------------------------
