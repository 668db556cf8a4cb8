// `create` on the native backend, for every container: `run` (held by this nucleus, in the
// foreground) and an OCI `create` (outliving it) go through the same steps. The child is
// cloned into new namespaces, builds its root and stops just before exec, blocked on
// <record>/exec.fifo until `start` (native_lifecycle.cc); under `run`, whose nucleus starts
// it at once, on a pipe's write end instead.
#include <fcntl.h>
#include <linux/capability.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "backends/native/child/child.h"
#include "backends/native/child/clone.h"
#include "backends/native/child/dev_tree.h"
#include "backends/native/child/handshake.h"
#include "backends/native/layers/landlock.h"
#include "backends/native/native_backend.h"
#include "backends/native/native_network.h"
#include "backends/native/native_ready.h"
#include "backends/native/native_session.h"
#include "backends/native/oci/oci_support.h"
#include "backends/native/prepared_network.h"
#include "backends/native/plan/namespaces.h"
#include "backends/native/plan/userns.h"
#include "config/spec_checks.h"
#include "config/spec_json.h"
#include "core/container/notify_socket.h"
#include "core/policy/seccomp_compile.h"
#include "core/init/supervisor.h"
#include "core/sys/sys.h"
#include "core/sys/trace_timing.h"
#include "network/ipam/recycle_marks.h"

namespace nucleus::native {
namespace {

// What the native backend cannot do with a spec: refused before anything exists.
void refuse_unsupported(const ContainerSpec& spec, const CreateOptions& options) {
  if (spec.root.layout == RootSpec::Layout::kAsWritten) check_config_spec(spec);  // the gVisor backend's too
  if (spec.disable_oom_killer) {
    throw Error("config.json: linux.resources.memory.disableOOMKiller", "not supported by the native backend");
  }
  if (spec.process.terminal && options.console_socket.empty()) {
    throw Error("--console-socket", "process.terminal is set: a console socket is needed to receive the terminal");
  }
}

// --sd-notify: the caller's NOTIFY_SOCKET is checked before anything exists; the workload
// gets a proxy socket of ours at /run/notify/notify.sock (read-only bind of a private dir).
void prepare_notify(ContainerSpec& spec, NativeSession& s) {
  const char* value = ::getenv("NOTIFY_SOCKET");
  if (value == nullptr) throw Error("--sd-notify", "NOTIFY_SOCKET is not set");
  NotifyAddress target = validate_notify_socket(value);
  s.notify_dir.emplace("/tmp", "nucleus-notify-");
  // Container root is an unprivileged host uid: it may pass through, not list or write.
  if (::chmod(s.notify_dir->path().c_str(), 0711) != 0) throw_errno("chmod", s.notify_dir->path());
  s.notify_proxy.emplace(target, s.notify_dir->path());
  spec.mounts.push_back({"/run/notify", "bind", s.notify_dir->path(), {"rbind", "ro", "nosuid", "nodev"}});
  spec.process.env.push_back("NOTIFY_SOCKET=/run/notify/notify.sock");
}

// The sources of a "cgroup" mount inside: each hierarchy's directory of the container, under
// the hierarchy's own name (memory, pids, "cpu,cpuacct").
void describe_cgroup_for_mounts(const Cgroup& cgroup, LaunchMode& mode) {
  mode.cgroup_v2 = cgroup.layout() == CgroupLayout::kV2;
  CgroupHierarchies h = read_cgroup_hierarchies();
  for (const std::string& dir : cgroup.directories()) {
    if (mode.cgroup_v2) {
      mode.cgroup_dirs.emplace_back("", dir);
      continue;
    }
    for (const auto& [controller, mount] : h.v1_mounts) {
      if (dir.rfind(mount + "/", 0) != 0) continue;
      std::string name = mount.substr(mount.find_last_of('/') + 1);
      bool seen = false;
      for (const auto& [n, d] : mode.cgroup_dirs) seen |= n == name;
      if (!seen) mode.cgroup_dirs.emplace_back(name, dir);
    }
  }
}

bool has_cgroup_mount(const ContainerSpec& spec) {
  for (const MountSpec& m : spec.mounts) {
    if (m.type == "cgroup" || m.type == "cgroup2") return true;
  }
  return false;
}

// The namespaces the config names by path: fds the child joins (setns); the pid namespace
// is joined by this process before the clone (it applies to children only). A network
// namespace that may serve another container after its own is marked first (a pod's
// member is not ended with it: network/ipam/recycle_marks.h).
void open_joined_namespaces(const ContainerSpec& spec, const std::string& id, NativeSession& s) {
  for (const NamespaceSpec& n : spec.namespaces) {
    if (n.path.empty()) continue;
    UniqueFd fd = n.type == NamespaceType::kNetwork
                      ? net::open_network_namespace_to_join(n.path, id)
                      : sys::open(n.path, O_RDONLY | O_CLOEXEC, std::string("open the ") + to_string(n.type) + " namespace");
    if (n.type == NamespaceType::kPid) {
      if (::setns(fd.get(), CLONE_NEWPID) != 0) throw_errno("join the pid namespace", n.path);
      continue;
    }
    s.plan.join_fds.push_back(fd.get());
    s.plan.join_types.push_back(static_cast<int>(clone_flag(n.type)));
    s.joined.push_back(std::move(fd));
  }
}

// A step of ours between the clone and the child's "R" can fail because the child failed
// first (it may, before "G": its network namespace), its end of the socket closed and its
// /proc entries gone: its report, when it wrote one, says why. Called from a handler.
// What the child sent before its report ("P", its root) is passed over; a message that
// cannot be read leaves the parent's own error to be the one reported.
[[noreturn]] void rethrow_with_child_report(NativeSession& s) {
  std::optional<ChildReport> report;
  try {
    for (pollfd p = {s.sync.get(), POLLIN, 0}; ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;) {
      ChildMessage m = receive_child_message(s.sync.get());
      if (m.kind == ChildMessage::kEof) break;
      if (m.kind == ChildMessage::kReport) {
        report = m.report;
        break;
      }
    }
  } catch (const Error&) {
  }
  if (report) throw describe_child_failure(s.plan, *report);
  throw;
}

// After "G", while the child sets up its namespaces: the trees the parent makes for its
// root ("M": the id-mapped rootfs; "D": /dev's fixed part, or none), which the child takes
// when its root reaches them. EPIPE: the child has failed already; its report follows.
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

// The workload's start signal: a byte written to exec.fifo, which `start` reads; under
// `run`, which starts what it created itself, a pipe's, whose reader the session holds
// (nothing on disk: a run that claims its record after the clone has none to put it in).
// Returns what the workload writes to.
std::pair<UniqueFd, LaunchPlan::StartSignal> open_start_signal(NativeSession& s, bool chrooted, bool held) {
  if (held) {
    auto [reader, writer] = sys::pipe("create the start pipe");
    s.fifo_reader = std::move(reader);
    return {std::move(writer), LaunchPlan::StartSignal::kPipe};
  }
  const std::string fifo = s.dir() + "/exec.fifo";
  // 0622 whatever the umask: the workload writes it after becoming its own uid.
  if (::mkfifo(fifo.c_str(), 0622) != 0 || ::chmod(fifo.c_str(), 0622) != 0) throw_errno("create the exec fifo", fifo);
  // A chroot (no mount namespace) has no /proc to reopen the fifo through: its directory.
  UniqueFd fd = sys::open(chrooted ? s.dir() : fifo, O_PATH | O_CLOEXEC, "open the exec fifo");
  return {std::move(fd), chrooted ? LaunchPlan::StartSignal::kFifoInDir : LaunchPlan::StartSignal::kFifo};
}

}  // namespace

std::unique_ptr<ContainerSession> NativeBackend::create(const ContainerSpec& requested, const CreateOptions& options) {
  refuse_unsupported(requested, options);
  // Before anything exists: bad input, a taken port, what pasta cannot enforce.
  if (requested.network == NetworkMode::kBridge) {
    net::check_network_request(*requested.bridge, net::network_state_dir(options.root));
    timing::mark("network request checked");
  }
  if (requested.network == NetworkMode::kPasta) net::check_user_mode_request(*requested.bridge);
  const bool held = options.foreground;
  ContainerRecord r{.name = options.id, .backend = "native", .nucleus_pid = ::getpid(), .persistent = !held,
                    .bundle = requested.bundle, .created = rfc3339_now(), .annotations = requested.annotations};
  const NamespaceSpec* pid_namespace = requested.find(NamespaceType::kPid);
  const bool joins_pid_namespace = pid_namespace != nullptr && !pid_namespace->path.empty();
  // The cgroup is made before the clone where the child needs it from the start (cloned
  // into it on cgroup2-only hosts; a config's "cgroup" mount binds its directories; a
  // joined pid namespace would hold the keeper), else while the child builds its root.
  const bool cgroup_first = sys::is_cgroup2_only_host() || has_cgroup_mount(requested) || joins_pid_namespace;
  // `run` claims its record once the child is cloned, while the child builds its root and
  // before it may join its cgroup ("C"): nothing the child reads lives in the record (its
  // start signal is a pipe, not exec.fifo), and a refused claim stops it before it has run
  // anything. Not where the name reaches something else first (a bridge's network order,
  // which netd takes by the container's id before the clone; pasta; a config's cgroupsPath,
  // which two runs of one config would share), nor where the cgroup and the keeper, which
  // must name the record, come first.
  const bool claim_after_clone = held && requested.network != NetworkMode::kBridge &&
                                 requested.network != NetworkMode::kPasta && requested.cgroups_path.empty() &&
                                 !cgroup_first;
  auto s = std::make_unique<NativeSession>(claim_after_clone ? LockedContainer::pending(options.root, std::move(r))
                                                             : LockedContainer::claim(options.root, std::move(r)),
                                           held);
  s->spec = requested;
  ContainerSpec& spec = s->spec;
  if (spec.sd_notify) prepare_notify(spec, *s);
  // The order now; its answer once the launch plan is built, which the server's work (its
  // answer, a standby's hand-over) runs beside.
  if (spec.network == NetworkMode::kBridge) s->network = order_network(spec, options.id, options.root);
  if (!claim_after_clone) timing::mark("record claimed");

  auto [fifo_fd, start_signal] = open_start_signal(*s, !requested.has(NamespaceType::kMount), held);

  const CgroupRequest request = cgroup_request(spec, options.id, held);
  auto make_cgroup = [&] {
    s->hold_cgroup(create_container_cgroup(request, spec.limits_requested || !held));
    timing::mark("cgroup created");
  };
  auto start_keeper = [&] {
    s->start_keeper();
    timing::mark("cleanup keeper forked");
  };
  LaunchMode mode{.tied_to_parent = held};
  if (cgroup_first) {
    make_cgroup();
    start_keeper();
    if (s->cgroup()) describe_cgroup_for_mounts(*s->cgroup(), mode);
  }

  s->plan = build_launch_plan(spec, real_host(), mode);
  LaunchPlan& plan = s->plan;
  timing::mark("launch plan built");
  if (plan.seccomp_profile) plan.seccomp = prepare_seccomp(*plan.seccomp_profile, plan.seccomp_conditions);
  open_joined_namespaces(spec, options.id, *s);
  plan.exec_fifo_fd = fifo_fd.get();
  plan.start_signal = start_signal;
  plan.preserve_fds = options.preserve_fds;
  const bool at_clone = s->cgroup() && s->cgroup()->directory_fd() >= 0;
  // A bridge container waits after its root for "C" in any case (where no Landlock ruleset
  // comes from the parent, netd's report is waited for before it).
  plan.cgroup_join = at_clone && !spec.bridge ? LaunchPlan::CgroupJoin::kAtClone
                     : cgroup_first && !at_clone ? LaunchPlan::CgroupJoin::kAfterGo
                                                 : LaunchPlan::CgroupJoin::kAfterRoot;
  plan.restore_affinity = ::sched_getaffinity(0, sizeof plan.affinity, &plan.affinity) == 0;
  plan.landlock_from_parent = plan.landlock.enabled && plan.init && plan.no_new_privs;
  plan.finalize();
  timing::mark("seccomp program ready");
  // The server's answer: a standby's namespace comes with the container's sysfs and /etc
  // files, made ahead; else they are made here.
  std::optional<NetworkEtcFiles> etc_files;
  net::ContainerNetwork::Prepared prepared_namespace;
  if (spec.network == NetworkMode::kBridge) {
    prepared_namespace = s->network->prepared_namespace();
    etc_files = prepared_namespace.etc_files.empty() ? NetworkEtcFiles::make(s->dir())
                                                     : NetworkEtcFiles::given(std::move(prepared_namespace.etc_files));
    etc_files->give_to(plan);
    timing::mark("network files prepared");
  }

  // Prepared by netd ahead (docs/networking.md, "Prepared namespaces"): cloned into it.
  PreparedNetwork prepared = PreparedNetwork::adopt(std::move(prepared_namespace), plan);

  auto [parent_end, child_end] = sys::socketpair(SOCK_SEQPACKET, "create the sync socket");
  require_single_thread();
  UniqueFd pidfd;
  prepared.enter();
  pid_t pid = -1;
  try {
    pid = clone_container(plan.clone_flags, &pidfd, at_clone ? s->cgroup()->directory_fd() : -1);
  } catch (...) {
    prepared.leave();
    throw;
  }
  if (pid == 0) {
    ::close(parent_end.get());
    run_child(plan, child_end.get());
  }
  prepared.leave();
  if (plan.restore_affinity) start_child_elsewhere(pid, plan.affinity);
  s->hold_main(OwnedChild(pid, std::move(pidfd)));  // killed and reaped if anything below throws
  s->sync = std::move(parent_end);
  child_end.reset();
  timing::mark("cloned into new namespaces");
  bool defer_report = false;
  try {
    if (spec.network == NetworkMode::kBridge) give_network_namespace(*s);
    if (plan.user_namespace) write_id_maps(pid, plan.ids);
    send_go(s->sync.get());
    timing::mark("id maps written, child released");
    send_ready_made_trees(plan, s->sync.get(), pid);
    if (claim_after_clone) {
      // Of two runs of one --name, the second stops here: its child waits for "C" once its
      // root is built (never cgroup-first here), so it has run nothing. Not before "G":
      // there the claim's file-system calls and the child's network namespace slowed each
      // other down, 0.4 ms a start in an A/B.
      s->record().claim_now();
      timing::mark("record claimed");
    }
    if (!cgroup_first) make_cgroup();
    // The keeper: before a network attach (netd's round trip, pasta's start), so that a
    // nucleus killed meanwhile leaves its cgroup to it; the next nucleus collects only
    // directories right below its own cgroup (not --cgroup-parent's or a cgroupsPath's).
    // Otherwise once "C" is sent, while the child joins its cgroup: it waited for the fork.
    // Killed in between, nucleus leaves a cgroup and a record that the next nucleus
    // collects, and no workload outlives it (a held container's init dies with nucleus,
    // PDEATHSIG; a created one's workload waits for `start`).
    // netd's report (the bridge's rules, forwarder and /etc files in place) before anything
    // of the workload runs: here, before "C", when it is there already (reading it is
    // 0.1-0.4 ms of cold code, while the parent has time); else as soon as it comes and at
    // the latest before the Landlock ruleset, without which the workload does not exec, so
    // that the child goes on meanwhile (wait_until_ready). Without a ruleset of the
    // parent's, here in any case: then the keeper goes first (nucleus may wait here).
    const bool report_there = etc_files && s->network->report_ready();
    defer_report = etc_files && !report_there && plan.landlock_from_parent;
    const bool attaches = spec.network == NetworkMode::kPasta || (etc_files && !report_there && !defer_report);
    if (!cgroup_first && attaches) start_keeper();
    if (etc_files && !defer_report) attach_network(*s, *etc_files);
    if (spec.network == NetworkMode::kPasta) attach_user_network(*s, pid, options.id, options.root);
    if (plan.cgroup_join != LaunchPlan::CgroupJoin::kAtClone) {
      // The child moves itself in through files we open (handshake.h); cloned into it, "C"
      // carries none and only lets it go on. EPIPE: the child has failed already; its report
      // follows.
      (void)send_cgroup_ready(s->sync.get(), open_cgroup_join_files(at_clone ? nullptr : s->cgroup()));
      timing::mark("cgroup sent to the child");
    }
    if (!cgroup_first && !attaches) start_keeper();
  } catch (const Error&) {
    rethrow_with_child_report(*s);
  }
  // Stale cgroups of killed runs: a held container's are collected while it runs (wait),
  // off its start; a created one's here, where nobody waits on the workload yet.
  if (!held) collect_stale_container_cgroups();
  collect_abandoned_records(options.root);  // a readdir of the state root
  if (held) s->entrust(open_mount_namespace(pid));

  PendingBeforeLandlock report;
  if (defer_report) report = {s->network->report_fd(), [&] { attach_network(*s, *etc_files); }};
  wait_until_ready(*s, options, std::move(report));
  if (etc_files) etc_files->forget_record_copies();
  if (held && spec.root.layout == RootSpec::Layout::kNucleus && !spec.root.path.empty() && !spec.root.read_only) {
    // The root is the overlay, whose statfs is its upper layer's: the bounded tmpfs.
    s->watch_layer(UniqueFd(::open(("/proc/" + std::to_string(pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
                   spec.root.layer_size);
  }
  ContainerRecord& rec = s->record().record();
  rec.pid = pid;
  auto stat = sys::process_stat(pid);
  if (!stat) throw Error("create the container", "its init is gone");
  rec.pid_start_time = stat->start_time;
  if (s->cgroup()) rec.cgroup = s->cgroup()->directories();
  rec.cgroups_path = spec.cgroups_path;  // the name its cgroup has (record_problem checks it)
  rec.status = "created";
  // A container held here is started at once: `start` writes its record, the workload
  // released first.
  if (!held) s->record().save();
  run_hooks(spec.hooks.prestart, "prestart", oci_state_json(rec, "created", false), true);
  run_hooks(spec.hooks.create_runtime, "createRuntime", oci_state_json(rec, "created", false), true);
  if (!options.pid_file.empty()) write_pid_file(options.pid_file, pid);
  timing::mark("created");
  return s;
}

}  // namespace nucleus::native
