// `nucleus create` on the native backend: the container is built exactly as for `run`
// (clone, the child sequence, the same mount machinery) from the config's own policy, and
// its init stops just before exec, blocked on <state>/exec.fifo until `nucleus start`.
// This nucleus then exits; the init is left to the caller (conmon is a subreaper).
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "backends/native/child/child.h"
#include "backends/native/child/clone.h"
#include "backends/native/child/handshake.h"
#include "backends/native/native_backend.h"
#include "backends/native/oci/oci_plan.h"
#include "backends/native/oci/oci_support.h"
#include "core/policy/seccomp_compile.h"
#include "config/resources.h"
#include "core/sys/error.h"
#include "core/init/supervisor.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"

namespace nucleus::native {
namespace {

}  // namespace

// Where the container's cgroup goes: linux.cgroupsPath (absolute: from each hierarchy's
// root; relative: below nucleus's own cgroup), or nucleus-oci-<id> below our own.
CgroupRequest oci_cgroup_request(const WorkloadSpec& spec, const std::string& id) {
  const OciSpec& oci = *spec.oci;
  CgroupRequest request;
  request.limits = cgroup_limits(spec);
  request.limits.stats = false;
  request.limits.oci = true;
  request.limits.memory_swap = oci.memory_swap;
  request.limits.memory_reservation = oci.memory_reservation;
  request.limits.cpu_shares = oci.cpu_shares;
  request.limits.cpu_period_us = oci.cpu_period_us;
  request.limits.cpuset_cpus = oci.cpuset_cpus;
  request.limits.cpuset_mems = oci.cpuset_mems;
  request.limits.devices = oci.device_rules;
  if (!oci.device_rules.empty()) {
    // What every container may use whatever the config denies (runc's and crun's list): the
    // default nodes, the pty pair, and mknod of anything (using it is still checked).
    for (CgroupDeviceRule r : std::initializer_list<CgroupDeviceRule>{
             {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"}, {true, 'c', 1, 3, "rwm"}, {true, 'c', 1, 5, "rwm"},
             {true, 'c', 1, 7, "rwm"}, {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},
             {true, 'c', 5, 1, "rwm"}, {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"}}) {
      request.limits.devices.push_back(r);
    }
    for (const OciDevice& d : oci.devices) {
      if (d.type != 'p') request.limits.devices.push_back({true, d.type == 'b' ? 'b' : 'c', d.major, d.minor, "rwm"});
    }
  }
  std::string path = oci.cgroups_path.empty() ? "nucleus-oci-" + id : oci.cgroups_path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.find_last_of('/');
  request.name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (slash != std::string::npos) request.parent = slash == 0 ? "/" : path.substr(0, slash);
  if (request.name.empty() || request.name == "." || request.name == "..") {
    throw Error("config.json: linux.cgroupsPath", "'" + oci.cgroups_path + "' names no cgroup");
  }
  return request;
}

namespace {

// The sources of a "cgroup" mount inside: each hierarchy's directory of the container, under
// the hierarchy's own name (memory, pids, "cpu,cpuacct").
OciRootInputs root_inputs(const Cgroup& cgroup, const CgroupHierarchies& h) {
  OciRootInputs in;
  in.cgroup_v2 = cgroup.layout() == CgroupLayout::kV2;
  for (const std::string& dir : cgroup.directories()) {
    if (in.cgroup_v2) {
      in.cgroup_dirs.emplace_back("", dir);
      continue;
    }
    for (const auto& [controller, mount] : h.v1_mounts) {
      if (dir.rfind(mount + "/", 0) != 0) continue;
      std::string name = mount.substr(mount.find_last_of('/') + 1);
      bool seen = false;
      for (const auto& [n, d] : in.cgroup_dirs) seen |= n == name;
      if (!seen) in.cgroup_dirs.emplace_back(name, dir);
    }
  }
  return in;
}

}  // namespace

void NativeBackend::create(const WorkloadSpec& spec, const OciCreateOptions& options) {
  const OciSpec& oci = *spec.oci;
  if (!oci.hooks.create_container.empty() || !oci.hooks.start_container.empty()) {
    throw Error("config.json: hooks", "createContainer and startContainer hooks are not supported by nucleus");
  }
  if (oci.process.terminal && options.console_socket.empty()) {
    throw Error("--console-socket", "process.terminal is set: a console socket is needed to receive the terminal");
  }
  NamedContainer record(options.root, ContainerRecord{.name = options.id, .backend = "native",
                                                      .nucleus_pid = ::getpid(), .persistent = true,
                                                      .bundle = oci.bundle, .created = rfc3339_now(),
                                                      .annotations = oci.annotations});
  // exec reads the policy the container was created with, not a bundle edited since.
  sys::create_file(record.path() + "/config.json",
                   sys::read_file(oci.bundle + "/config.json", 4u << 20, "read the bundle's config.json"), 0600,
                   "keep the container's config");
  const std::string fifo = record.path() + "/exec.fifo";
  // 0622 whatever the umask: the init writes it after becoming the workload's uid.
  if (::mkfifo(fifo.c_str(), 0622) != 0 || ::chmod(fifo.c_str(), 0622) != 0) throw_errno("create the exec fifo", fifo);
  UniqueFd fifo_fd = sys::open(fifo, O_PATH | O_CLOEXEC, "open the exec fifo");

  CgroupHierarchies hierarchies = read_cgroup_hierarchies();
  std::unique_ptr<Cgroup> cgroup = create_cgroup(hierarchies, oci_cgroup_request(spec, options.id));
  LaunchPlan plan = build_oci_launch_plan(spec, real_host(spec), root_inputs(*cgroup, hierarchies));
  for (const std::string& name : plan.dropped_env) {
    spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
  }
  if (plan.seccomp_profile) plan.seccomp = prepare_seccomp(*plan.seccomp_profile, plan.seccomp_conditions);

  std::vector<UniqueFd> joins;
  for (const OciNamespaceEntry& n : oci.namespaces) {
    if (n.path.empty()) continue;
    joins.push_back(sys::open(n.path, O_RDONLY | O_CLOEXEC, std::string("open the ") + to_string(n.type) + " namespace"));
    if (n.type == OciNamespace::kPid) {
      // Applies to the children of this process only: the container's init.
      if (::setns(joins.back().get(), CLONE_NEWPID) != 0) throw_errno("join the pid namespace", n.path);
      continue;
    }
    plan.oci.join_fds.push_back(joins.back().get());
    plan.oci.join_types.push_back(static_cast<int>(clone_flag(n.type)));
  }
  plan.oci.exec_fifo_fd = fifo_fd.get();
  plan.finalize();

  // Without CLONE_INTO_CGROUP, the child joins by itself, through files we open (handshake.h).
  const bool join_after_go = cgroup->directory_fd() < 0;
  if (join_after_go) plan.cgroup_join = LaunchPlan::CgroupJoin::kAfterGo;
  CgroupJoinFiles join = open_cgroup_join_files(join_after_go ? cgroup.get() : nullptr);

  auto [parent_end, child_end] = sys::socketpair(SOCK_SEQPACKET, "create the sync socket");
  require_single_thread();
  UniqueFd pidfd;
  pid_t pid = clone_container(plan.clone_flags, &pidfd, cgroup->directory_fd());
  if (pid == 0) {
    ::close(parent_end.get());
    run_child(plan, child_end.get());
  }
  OwnedChild child(pid, std::move(pidfd));  // killed and reaped if anything below throws
  child_end.reset();
  if (plan.user_namespace) write_id_maps(pid, plan.ids);
  send_go(parent_end.get());
  if (join_after_go) {
    // EPIPE: the child has failed already; its report comes next.
    (void)send_cgroup_ready(parent_end.get(), join);
    join = {};
  }
  for (bool ready = false; !ready;) {
    ChildMessage m = receive_child_message(parent_end.get());
    switch (m.kind) {
      case ChildMessage::kTerminal: send_to_console_socket(options.console_socket, m.fd.get()); break;
      case ChildMessage::kReport: throw describe_child_failure(plan, m.report);
      case ChildMessage::kReady: ready = true; break;
      case ChildMessage::kEof: {
        int status = child.wait();
        throw Error("create the container", "its init ended before it was ready (exit code " +
                                                std::to_string(init::exit_code_from_wait_status(status)) + ")");
      }
    }
  }

  ContainerRecord& r = record.record();
  r.pid = pid;
  auto stat = sys::process_stat(pid);
  if (!stat) throw Error("create the container", "its init is gone");
  r.pid_start_time = stat->start_time;
  r.cgroup = cgroup->directories();
  r.status = "created";
  record.save();
  run_hooks(oci.hooks.prestart, "prestart", oci_state_json(r, "created", false), true);
  run_hooks(oci.hooks.create_runtime, "createRuntime", oci_state_json(r, "created", false), true);
  if (!options.pid_file.empty()) write_pid_file(options.pid_file, pid);
  record.keep();
  cgroup->release();
  child.release();
}

}  // namespace nucleus::native
