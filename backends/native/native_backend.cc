#include "backends/native/native_backend.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "backends/native/child/child.h"
#include "backends/native/child/clone.h"
#include "backends/native/child/dev_tree.h"
#include "backends/native/child/handshake.h"
#include "backends/native/layers/capabilities.h"
#include "backends/native/layers/landlock.h"
#include "backends/native/plan/launch_plan.h"
#include "backends/native/plan/namespaces.h"
#include "core/policy/seccomp_compile.h"
#include "core/sys/trace_timing.h"
#include "core/container/monitor.h"
#include "config/host_paths.h"
#include "config/presets.h"
#include "config/resources.h"
#include "config/units.h"
#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"
#include "core/container/keeper.h"
#include "config/validate.h"
#include "core/policy/env_filter.h"
#include "core/sys/error.h"
#include "core/init/signals.h"
#include "core/init/supervisor.h"
#include "core/container/notify_socket.h"
#include "core/policy/seccomp_json.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

// Options that do not apply to this backend: refused, never silently ignored.
void refuse_foreign_options(const WorkloadSpec& spec) {
  if (spec.gvisor_platform != GvisorPlatform::kAuto) {
    throw Error("--gvisor-platform", "applies to the gvisor backend only");
  }
}

// --sd-notify: the caller's NOTIFY_SOCKET is checked before anything exists; the workload
// gets a proxy socket of ours at /run/notify/notify.sock (read-only bind of a private dir).
struct NotifySetup {
  std::optional<TempDir> dir;
  std::optional<NotifyProxy> proxy;
};

void prepare_notify(WorkloadSpec& spec, NotifySetup& out) {
  if (!spec.sd_notify) return;
  const char* value = ::getenv("NOTIFY_SOCKET");
  if (value == nullptr) throw Error("--sd-notify", "NOTIFY_SOCKET is not set");
  NotifyAddress target = validate_notify_socket(value);
  out.dir.emplace("/tmp", "nucleus-notify-");
  // Container root is an unprivileged host uid: it may pass through, not list or write.
  if (::chmod(out.dir->path().c_str(), 0711) != 0) throw_errno("chmod", out.dir->path());
  out.proxy.emplace(target, out.dir->path());
  spec.volumes.push_back({out.dir->path(), "/run/notify", true});
  spec.env.emplace_back("NOTIFY_SOCKET", "/run/notify/notify.sock");
}

// After "G", while the child sets up its namespaces: the trees the parent makes for its
// root ("M": the id-mapped rootfs; "D": /dev's fixed part, or none), which the child takes
// when its root reaches them. EPIPE: the child has failed already; the monitor reads its
// report.
void send_ready_made_trees(const LaunchPlan& plan, int sync_fd, pid_t pid) {
  auto pass = [](int err, const char* step) {
    if (err != 0 && err != EPIPE) throw Error(step, "", err);
  };
  if (plan.idmapped_rootfs) {
    pass(send_rootfs_tree(sync_fd, make_idmapped_tree(plan.rootfs, pid).get()), "pass the id-mapped root filesystem");
    timing::mark("id-mapped rootfs sent");
  }
  if (plan.root.dev) {
    // Owned by the container's root, as what the child makes is.
    std::optional<uint32_t> uid = plan.user_namespace ? host_id(plan.ids.uid_map, 0) : 0u;
    std::optional<uint32_t> gid = plan.user_namespace ? host_id(plan.ids.gid_map, 0) : 0u;
    UniqueFd dev = uid && gid ? build_dev_tree(plan.root, *uid, *gid) : UniqueFd();
    pass(send_dev_tree(sync_fd, dev.get()), "pass the container's /dev");
    timing::mark("/dev tree sent");
  }
}

}  // namespace

int NativeBackend::run(const WorkloadSpec& requested) {
  refuse_foreign_options(requested);
  WorkloadSpec spec = resolve_host_paths(requested);
  NotifySetup notify;
  prepare_notify(spec, notify);
  const Preset& preset = preset_for(spec.isolation);
  LaunchPlan plan = build_launch_plan(spec, preset, real_host(spec));
  timing::mark("launch plan built");
  for (const std::string& name : plan.dropped_env) {
    spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
  }
  if (plan.seccomp_profile) plan.seccomp = prepare_seccomp(*plan.seccomp_profile, plan.seccomp_conditions);
  plan.finalize();
  timing::mark("seccomp program ready");

  // On a cgroup2-only host the child is cloned straight into its cgroup (CLONE_INTO_CGROUP);
  // elsewhere the parent makes it while the child builds its root, and the child joins it
  // afterwards (LaunchPlan::CgroupJoin::kAfterRoot).
  const bool cgroup_at_clone = sys::is_cgroup2_only_host();
  plan.cgroup_join = cgroup_at_clone ? LaunchPlan::CgroupJoin::kAtClone : LaunchPlan::CgroupJoin::kAfterRoot;

  // Declared first, so it is dismissed last: it covers everything below.
  std::optional<CleanupKeeper> keeper;
  std::optional<NamedContainer> named;
  if (!spec.name.empty()) named.emplace(kStateRoot, ContainerRecord{.name = spec.name, .backend = "native", .nucleus_pid = ::getpid()});
  std::unique_ptr<Cgroup> cgroup;
  CleanupTargets targets;
  if (named) targets.record = named->path();
  auto create_cgroup_and_keeper = [&] {
    cgroup = create_container_cgroup(cgroup_limits(spec), spec.resources.requested(), spec.resources.cgroup_parent);
    timing::mark("cgroup created");
    if (cgroup) targets.cgroups = cgroup->directories();
    if (!targets.empty()) keeper.emplace(targets);
    timing::mark("cleanup keeper forked");
  };
  if (cgroup_at_clone) create_cgroup_and_keeper();
  ForwardedSignals signals;
  auto [parent_end, child_end] = sys::socketpair(SOCK_SEQPACKET, "create the sync socket");
  require_single_thread();
  UniqueFd pidfd;
  plan.restore_affinity = ::sched_getaffinity(0, sizeof plan.affinity, &plan.affinity) == 0;
  plan.landlock_from_parent = plan.landlock.enabled && plan.init && plan.no_new_privs;
  pid_t pid = clone_container(plan.clone_flags, &pidfd, cgroup ? cgroup->directory_fd() : -1);
  if (pid == 0) {
    ::close(parent_end.get());
    run_child(plan, child_end.get());
  }
  if (plan.restore_affinity) start_child_elsewhere(pid, plan.affinity);
  OwnedChild child(pid, std::move(pidfd));  // killed and reaped if anything below throws
  child_end.reset();
  timing::mark("cloned into new namespaces");

  if (plan.user_namespace) write_id_maps(pid, plan.ids);
  send_go(parent_end.get());
  timing::mark("id maps written, child released");
  send_ready_made_trees(plan, parent_end.get(), pid);
  if (!cgroup_at_clone) {
    create_cgroup_and_keeper();
    // The child moves itself in through files we open (handshake.h). EPIPE: the child has
    // failed already; the monitor reads its report.
    (void)send_cgroup_ready(parent_end.get(), open_cgroup_join_files(cgroup.get()));
    timing::mark("cgroup sent to the child");
  }
  collect_stale_container_cgroups();  // while the child builds its root
  if (keeper) keeper->entrust(open_mount_namespace(pid));
  if (named) {
    named->record().status = "running";
    named->record().cgroup = targets.cgroups;
    named->save();
  }

  MonitorOptions options;
  options.sync_fd = parent_end.get();
  // "P": the child's root exists; the Landlock ruleset is ours to build meanwhile.
  options.take_message = [&] {
    UniqueFd root;
    if (!take_root_ready(parent_end.get(), &root)) return false;
    int ruleset = build_landlock_ruleset(plan.landlock, root.get());
    if (ruleset < 0) throw Error("apply Landlock rules beneath the container's root", "", -ruleset);
    UniqueFd owned(ruleset);
    (void)send_landlock(parent_end.get(), owned.get());  // EPIPE: the child's report follows
    timing::mark("parent: Landlock ruleset sent");
    return true;
  };
  options.signal_fd = signals.fd();
  options.timeout_seconds = spec.timeout_seconds;
  options.notify = notify.proxy ? &*notify.proxy : nullptr;
  options.on_idle = [] {
    sys::release_startup_pages(/*including_heap=*/false);
    ::malloc_trim(0);
  };
  MonitorResult result = monitor_container(child, options);
  timing::mark("container exited");
  if (result.report) throw describe_child_failure(plan, *result.report);
  int code = init::exit_code_from_wait_status(result.wait_status);
  bool oom = cgroup && spec.resources.memory_bytes && cgroup->oom_kills() > 0 && code == 128 + SIGKILL;
  if (oom) report_to_user("workload killed: out of memory (limit " + format_size(*spec.resources.memory_bytes) + ")");
  if (named) named->finish(code, oom);
  if (result.timed_out) {
    spdlog::warn("workload timed out after {}s", *spec.timeout_seconds);
    return exit_code::kTimeout;
  }
  return code;
}

}  // namespace nucleus::native
