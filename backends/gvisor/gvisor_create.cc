// `create` on the gVisor backend, for every container: its bundle goes into the record's
// directory and runsc's state beside it. A container held in the foreground (`run`) starts
// with `runsc run`, which is runsc's own create + start in one process: two runsc processes
// would cost a Go runtime start each, several milliseconds of every start (`start` then only
// marks it running). One that outlives nucleus (an OCI `create`) starts with `runsc create`,
// and `runsc start` releases it.
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "backends/gvisor/gvisor_backend.h"
#include "backends/gvisor/gvisor_pod.h"
#include "backends/gvisor/gvisor_session.h"
#include "backends/gvisor/oci_bundle.h"
#include "backends/gvisor/runsc/runsc_gaps.h"
#include "backends/gvisor/runsc/runsc_locate.h"
#include "config/spec_checks.h"
#include "config/oci/oci_hooks.h"
#include "config/spec_json.h"
#include "core/cgroup/cgroupfs.h"
#include "core/policy/env_filter.h"
#include "core/policy/host_view.h"
#include "core/policy/seccomp_json.h"
#include "core/sys/error.h"
#include "core/sys/trace_timing.h"
#include "network/ipam/recycle_marks.h"

namespace nucleus::gvisor {
namespace {

using json = nlohmann::json;

void refuse_unsupported(const ContainerSpec& spec, const CreateOptions& options) {
  if (spec.root.layout == RootSpec::Layout::kAsWritten) check_config_spec(spec);  // the native backend's too
  if (::geteuid() != 0) throw Error("gvisor backend", "runsc needs root; run nucleus as root or use --isolation standard");
  if (options.preserve_fds > 0) throw Error("--preserve-fds", "runsc cannot pass extra file descriptors to a gVisor container");
  if (spec.network == NetworkMode::kPasta) throw Error("--network pasta", "the gVisor backend takes bridge (its rules hold on the host side)");
  if (const NamespaceSpec* mnt = spec.find(NamespaceType::kMount); mnt != nullptr && !mnt->path.empty()) {
    throw Error("config.json: linux.namespaces: mount", "the gVisor backend cannot join a mount namespace (the Sentry's is its own)");
  }
  // A config's hooks are nucleus's to run (create, start, delete; config/oci/oci_hooks.h),
  // so that they see the caller's bundle, poststart sees "running" and a timeout holds
  // (runsc would pass its copy of the bundle, run poststart before it says running, and
  // ignored a hook's timeout). `runsc run` leaves no moment for them.
  if (!spec.hooks.empty() && options.foreground) {
    throw Error("config.json: hooks", "the gVisor backend runs a config's hooks with create and start, not with run");
  }
  if (spec.process.terminal && options.console_socket.empty()) {
    throw Error("--console-socket", "process.terminal is set: a console socket is needed to receive the terminal");
  }
  for (const MountSpec& m : spec.mounts) {
    if (m.type != "bind" || spec.root.layout != RootSpec::Layout::kNucleus) continue;
    struct stat st;
    if (::stat(m.source.c_str(), &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
      throw Error("volume " + m.source, "gVisor binds only directories and regular files");
    }
  }
}

// nucleus-init sits next to the nucleus binary (both are installed together).
std::string locate_init() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) throw_errno("find nucleus-init", "/proc/self/exe");
  std::string dir(self, static_cast<size_t>(n));
  dir = dir.substr(0, dir.find_last_of('/'));
  std::string init = dir + "/nucleus-init";
  struct stat st;
  if (::stat(init.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error("gvisor backend", "nucleus-init is missing next to nucleus (" + init + ")");
  }
  return init;
}

// Under ptrace/systrap every guest task costs the host several threads (stub threads, and
// Go threads locked to them): about 9 per guest process measured here. The Sentry's Go
// runtime dies when the host refuses it a thread (gvisor#2490), so the pids limit asked
// for binds the guest instead, as RLIMIT_NPROC, which the Sentry enforces on every guest
// task of a uid (fork fails with EAGAIN, as under the native backend); the host cgroup
// keeps a backstop sized for the Sentry's threads, so a runaway sandbox still cannot take
// the host's pids.
constexpr int64_t kHostTasksPerGuestTask = 16;
constexpr int64_t kSentryBaseTasks = 256;

CgroupLimits sandbox_cgroup_limits(const CgroupLimits& limits) {
  CgroupLimits out = limits;
  if (out.pids && *out.pids > 0) out.pids = *out.pids * kHostTasksPerGuestTask + kSentryBaseTasks;
  return out;
}

// nucleus's own layout as runsc's bundle: nucleus-init as PID 1 in front of the command,
// the host view's binds over a skeleton root (or the rootfs), the spec's mounts.
BundleSpec bundle_spec(const ContainerSpec& spec, const std::string& root_path) {
  const ProcessSpec& p = spec.process;
  BundleSpec b;
  b.command = p.args;
  b.env = p.env;
  b.cwd = p.cwd;
  b.identity.uid = p.uid;
  b.identity.gid = p.gid;
  b.identity.groups.assign(p.additional_gids.begin(), p.additional_gids.end());
  b.capabilities = p.capabilities.effective;
  b.ambient = p.capabilities.ambient != 0;
  b.rlimits = p.rlimits;
  if (spec.limits.pids && *spec.limits.pids > 0) {
    for (RlimitSetting& r : b.rlimits) {
      if (r.resource == RLIMIT_NPROC) r.soft = r.hard = static_cast<rlim_t>(*spec.limits.pids);
    }
  }
  b.hostname = spec.hostname;
  b.network = spec.network;
  b.root_path = root_path;
  b.root_readonly = spec.root.path.empty() || spec.root.read_only;
  if (spec.root.path.empty()) b.host_view = host_view_items(spec.network == NetworkMode::kHost, probe_host);
  b.mounts = spec.mounts;
  b.masked_paths = spec.masked_paths;
  b.readonly_paths = spec.readonly_paths;
  if (spec.seccomp.profile) b.seccomp = seccomp::resolve(*spec.seccomp.profile, spec.seccomp.conditions);
  b.init_source = locate_init();
  return b;
}

// runsc looks the command up in the config's own PATH only (runc and the native backend
// fall back to the default one): a config without PATH gets the default.
std::vector<std::string> with_path(std::vector<std::string> env) {
  for (const std::string& e : env) {
    if (e.rfind("PATH=", 0) == 0) return env;
  }
  env.push_back("PATH=" + std::string(kDefaultPath));
  return env;
}

// The cgroup runsc makes for a config's container: its cgroupsPath, or nucleus's own name
// for one (the native backend's nucleus-oci-<id>), below nucleus's cgroup.
std::string runsc_cgroups_path(const ContainerSpec& spec, const std::string& id) {
  return spec.cgroups_path.empty() ? "nucleus-oci-" + id : spec.cgroups_path;
}

// A config.json as written: runsc gets it as the orchestrator wrote it, with what nucleus
// decided of it: the root path made absolute (the copy lives in the record); the
// environment through the shared filter (loader variables never reach a workload); the
// hooks left to nucleus (refuse_unsupported); the id mappings a user namespace got by
// default (config/oci); the labels and profiles of security modules this host does not run
// left out (the config was refused where they run; runsc refuses an SELinux label
// outright); a rootfsPropagation runsc refuses (it takes private and slave only) left to
// runsc's default: nothing in the sandbox propagates to the host's mounts anyway; the
// cgroupsPath as nucleus resolved it (a systemd-style path expanded: runsc gets no
// --systemd-cgroup), or nucleus's name for one when the config names none (so nucleus
// knows what runsc made, even when runsc refuses the container).
json config_as_written(const ContainerSpec& spec, const std::string& id) {
  json config = json::parse(sys::read_file(spec.bundle + "/config.json", 4u << 20, "read the bundle's config.json"));
  config["root"]["path"] = spec.root.path;
  config["process"]["env"] = with_path(spec.process.env);
  config["linux"]["cgroupsPath"] = runsc_cgroups_path(spec, id);
  config.erase("hooks");
  config["process"].erase("selinuxLabel");
  config["process"].erase("apparmorProfile");
  if (config.contains("linux") && config["linux"].is_object()) {
    json& linux = config["linux"];
    linux.erase("mountLabel");
    auto mappings = [](const std::vector<IdMapping>& map) {
      json out = json::array();
      for (const IdMapping& m : map) out.push_back({{"containerID", m.inside}, {"hostID", m.outside}, {"size", m.count}});
      return out;
    };
    if (!linux.contains("uidMappings") && !spec.uid_mappings.empty()) linux["uidMappings"] = mappings(spec.uid_mappings);
    if (!linux.contains("gidMappings") && !spec.gid_mappings.empty()) linux["gidMappings"] = mappings(spec.gid_mappings);
    const std::string& p = spec.rootfs_propagation;
    if (!p.empty() && p.find("private") == std::string::npos && p.find("slave") == std::string::npos) {
      linux.erase("rootfsPropagation");
    }
  }
  return config;
}

// Where runsc makes the cgroup named `path` (relative: below its own cgroup, which is
// nucleus's; absolute: from each hierarchy's root), in every hierarchy, the named ones too.
std::vector<std::string> runsc_cgroup_directories(const std::string& path, bool controllers_only) {
  CgroupHierarchies h = read_cgroup_hierarchies();
  std::vector<std::string> out;
  auto add = [&](const std::string& mount, const std::string& own) {
    std::string base = path[0] == '/' ? mount : mount + (own == "/" ? "" : own);
    std::string dir = base + (path[0] == '/' ? "" : "/") + path;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && std::find(out.begin(), out.end(), dir) == out.end()) {
      out.push_back(dir);
    }
  };
  auto own = [&h](const std::string& key) {
    auto it = h.v1_own.find(key);
    return it == h.v1_own.end() ? std::string("/") : it->second;
  };
  for (const auto& [controller, mount] : h.v1_mounts) add(mount, own(controller));
  if (!controllers_only) {
    for (const auto& [name, mount] : h.named_mounts) add(mount, own(name));
  }
  if (h.layout == CgroupLayout::kV2) add(h.v2_mount, h.v2_own);
  return out;
}

// runsc refused the container after making its cgroups (issue 13: a missing root.path left
// them in every hierarchy, and no state of runsc's to delete them by): they go here. What
// nucleus named is this container's alone and is emptied first; a cgroupsPath the
// orchestrator chose is only removed when empty.
void remove_refused_cgroups(const ContainerSpec& spec, const std::string& id) {
  const std::string path = runsc_cgroups_path(spec, id);
  for (const std::string& dir : runsc_cgroup_directories(path, false)) {
    if (spec.cgroups_path.empty()) {
      cgroupfs::kill_and_remove(cgroupfs::real(), dir);
    } else {
      (void)cgroupfs::real().remove_dir(dir);
    }
  }
}

// A config that joins a network namespace by path (a CNI pod's, made before the sandbox)
// gets runsc's sandbox network: the Sentry's netstack takes over that namespace's
// interfaces, addresses and routes. A new namespace has nothing but lo: none.
bool joins_network_namespace(const ContainerSpec& spec) {
  const NamespaceSpec* net = spec.find(NamespaceType::kNetwork);
  return net != nullptr && !net->path.empty();
}

// runsc moves a sandbox network's addresses off the namespace's interfaces: never the
// host's own. runsc checks this itself, but some releases cannot (runsc_gaps.h), so
// nucleus does, for every release.
void refuse_the_hosts_network_namespace(const ContainerSpec& spec) {
  const std::string& path = spec.find(NamespaceType::kNetwork)->path;
  struct stat named;
  if (::stat(path.c_str(), &named) != 0) throw_errno("config.json: linux.namespaces: network", path);
  for (const char* host : {"/proc/1/ns/net", "/proc/self/ns/net"}) {
    struct stat h;
    if (::stat(host, &h) == 0 && h.st_dev == named.st_dev && h.st_ino == named.st_ino) {
      throw Error("config.json: linux.namespaces: network",
                  "'" + path + "' is the host's network namespace: gVisor's sandbox network takes a namespace's "
                  "interfaces over (a host-network pod names no network namespace)");
    }
  }
}

// The bundle's root for nucleus's layout: a skeleton of the host view's mount points, or
// the rootfs seen through an overlay that runsc's private mount namespace holds.
Staging prepare_root(const ContainerSpec& spec, const std::string& dir, const BundleSpec& bundle) {
  Staging staging;
  std::string root = dir + "/bundle/rootfs";
  if (::mkdir(root.c_str(), 0755) != 0) throw_errno("create the gVisor root", root);
  if (!spec.root.path.empty()) {
    staging.overlay = true;
    staging.lower = spec.root.path;
    staging.layer = dir + "/layer";
    staging.layer_options = "mode=0700,size=" + std::to_string(spec.root.layer_size);
    staging.mountpoint = root;
    if (::mkdir(staging.layer.c_str(), 0700) != 0) throw_errno("create the gVisor root", staging.layer);
  } else {
    make_skeleton(root, bundle.host_view, spec.process.cwd);
  }
  return staging;
}

// --network bridge: an empty network namespace of nucleus's (runsc's sandbox joins it by
// path), attached to the bridge before runsc starts; its /etc files in the record, bound
// read-only into the sandbox.
void attach_network(GvisorSession& s, const std::string& id, const std::string& root, BundleSpec& bundle) {
  UniqueFd own = sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open nucleus's network namespace");
  if (::unshare(CLONE_NEWNET) != 0) throw_errno("create the container's network namespace");
  s.netns = sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open the container's network namespace");
  if (::setns(own.get(), CLONE_NEWNET) != 0) throw_errno("return to nucleus's network namespace");
  s.network = net::ContainerNetwork::attach(*s.spec.bridge, s.netns.get(), id, {.state_dir = net::network_state_dir(root)});
  const std::string dir = s.dir() + "/etc";
  if (::mkdir(dir.c_str(), 0755) != 0) throw_errno("prepare the container's network files", dir);
  s.network->write_etc_files(dir);
  for (const char* name : {"resolv.conf", "hosts", "hostname"}) {
    bundle.mounts.push_back({std::string("/etc/") + name, "bind", dir + "/" + name, {"bind", "ro", "nosuid", "nodev"}});
  }
  bundle.netns_path = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(s.netns.get());
  timing::mark("gvisor: network attached");
}

}  // namespace

std::unique_ptr<ContainerSession> GvisorBackend::create(const ContainerSpec& spec, const CreateOptions& options) {
  refuse_unsupported(spec, options);
  if (spec.bridge) net::check_network_request(*spec.bridge, net::network_state_dir(options.root));  // before anything exists
  const bool held = options.foreground;
  const bool as_written = spec.root.layout == RootSpec::Layout::kAsWritten;
  const std::string runsc = locate_runsc();

  RunscConfig config;
  config.runsc = runsc;
  config.platform = choose_platform(spec.gvisor_platform, runsc_info(runsc).platforms);
  config.network = spec.network;
  // runsc's netstack on the namespace's interfaces: a CNI pod's, or the bridge's nucleus made.
  const bool joins_pod_network = as_written && joins_network_namespace(spec);
  config.sandbox_network = spec.bridge.has_value() || joins_pod_network;
  if (joins_pod_network) {
    refuse_the_hosts_network_namespace(spec);
    // runsc's sandbox joins it by path: one a standby of nucleus's may hand on is marked first.
    (void)net::open_network_namespace_to_join(spec.find(NamespaceType::kNetwork)->path, options.id);
  }
  // A pod's containers (the CRI's annotations) share the pod's sandbox: gvisor_pod.h.
  const PodRole pod = as_written ? pod_role(spec.annotations, options.id) : PodRole{};
  // nucleus's own containers: nucleus-init loads nucleus's compiled filter itself (the Sentry
  // applies a guest's filters in full; runsc's --oci-seccomp drops argument conditions and
  // errno values); a config's profile is runsc's to apply.
  config.oci_seccomp = as_written;
  // A rootfs's writes go to the overlay nucleus mounts for runsc, on a tmpfs of the layer's
  // size, through the gofer: the Sentry's own overlay (--overlay2=root:memory) would take
  // host memory without bound, and a file-backed one dies of SIGBUS when its file is full.
  config.memory_overlay = false;
  // A config's cgroupsPath is applied by runsc (the orchestrator chose where); nucleus's
  // own containers get a cgroup of nucleus's, which runsc joins and must not replace.
  config.manage_cgroups = as_written;
  // Debugging runsc itself: its --debug logs in this directory.
  if (const char* debug = ::getenv("NUCLEUS_RUNSC_DEBUG"); debug != nullptr && debug[0] == '/') config.debug_log_dir = debug;

  ContainerRecord r{.name = options.id, .backend = "gvisor", .nucleus_pid = ::getpid(), .persistent = !held,
                    .bundle = spec.bundle, .created = rfc3339_now(), .annotations = spec.annotations,
                    .data = Runsc::data_of(config)};
  auto s = std::make_unique<GvisorSession>(LockedContainer::claim(options.root, std::move(r)), held);
  s->spec = spec;
  const std::string dir = s->dir();
  if (pod.kind == PodRole::Kind::kNone) {
    config.root = dir + "/runsc";
    if (::mkdir(config.root.c_str(), 0700) != 0) throw_errno("create the gVisor state", config.root);
  } else {
    config.root = pod_runsc_root(options.root, pod.sandbox_id);
  }
  s->record().record().data = Runsc::data_of(config);
  s->config = config;  // a failure from here on: the session removes runsc's state (and an emptied pod root)
  if (::mkdir((dir + "/bundle").c_str(), 0700) != 0) throw_errno("create the gVisor state", dir + "/bundle");
  Staging staging;
  if (as_written) {
    sys::create_file(dir + "/bundle/config.json", config_as_written(spec, options.id).dump(), 0600,
                     "write the gVisor bundle");
  } else {
    BundleSpec bundle = bundle_spec(spec, dir + "/bundle/rootfs");
    bundle.init_filters = write_bundle_filters(dir + "/bundle", bundle, runsc_info(runsc).version);
    if (spec.bridge) attach_network(*s, options.id, options.root, bundle);
    staging = prepare_root(spec, dir, bundle);
    staging.hide_root_netns_probe = spec.bridge && mistakes_every_netns_for_the_hosts(runsc_info(runsc).version);
    write_config(dir + "/bundle", make_config(bundle));
  }
  write_spec_file(dir, spec);
  timing::mark("gvisor: bundle written");
  // scripts/bench only: keep a copy of config.json to time bare runsc on the same bundle.
  if (const char* keep = ::getenv("NUCLEUS_TEST_KEEP_BUNDLE"); keep != nullptr && keep[0] == '/') {
    std::string text = sys::read_file(dir + "/bundle/config.json", 4u << 20, "read the OCI bundle");
    UniqueFd out(::open(keep, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (out) (void)sys::write_all(out.get(), text.data(), text.size());
  }

  s->log_path = dir + "/runsc.log";
  UniqueFd log(::open(s->log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600));  // inherited by runsc
  if (!log) throw_errno("create the runsc log", s->log_path);
  config.log_fd = log.get();
  s->config = config;

  std::vector<UniqueFd> cgroup_join;
  if (!as_written) {
    s->hold_cgroup(create_container_cgroup(sandbox_cgroup_limits(spec.limits), spec.limits_requested, spec.cgroup_parent));
    cgroup_join = open_self_join_files(s->cgroup());
    for (const UniqueFd& fd : cgroup_join) staging.cgroup_join.push_back(fd.get());
  }
  s->start_keeper();
  timing::mark("gvisor: cgroup and keeper");

  ContainerRecord& rec = s->record().record();
  if (s->cgroup()) rec.cgroup = s->cgroup()->directories();
  if (held) {
    s->stdio = StdioRelay::for_regular_files();
    staging.stdio = s->stdio.child_fds();
    s->hold_main(start_runsc(runsc, run_args(config, dir + "/bundle", options.id), staging, log.get()));
    s->stdio.started();
    timing::mark("gvisor: runsc started");
    if (staging.overlay && !spec.root.read_only) {
      // The layer's tmpfs, seen through runsc's mount namespace (mounted before its exec).
      std::string layer = "/proc/" + std::to_string(s->main().pid()) + "/root" + staging.layer;
      s->watch_layer(UniqueFd(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)), spec.root.layer_size);
    }
    collect_stale_container_cgroups();  // while runsc boots the sandbox
    collect_abandoned_records(options.root);
    rec.pid = s->main().pid();
  } else {
    Runsc verbs(dir, rec.data);
    std::vector<std::string> args = verbs.args({"create", "--bundle", dir + "/bundle", "--pid-file", dir + "/pid"});
    if (!options.console_socket.empty()) args.insert(args.end(), {"--console-socket", options.console_socket});
    args.push_back(options.id);
    try {
      verbs.must("create", args, true);
    } catch (const Error&) {
      if (as_written) remove_refused_cgroups(spec, options.id);
      throw;
    }
    if (as_written) {
      // runsc's cgroup, for the record: what delete removes should runsc leave it.
      rec.cgroups_path = spec.cgroups_path;
      rec.cgroup = runsc_cgroup_directories(runsc_cgroups_path(spec, options.id), true);
    }
    rec.pid = static_cast<pid_t>(std::stol(sys::read_file(dir + "/pid", 64, "read runsc's pid file")));
    // A pod member's runsc pid is the pod's sandbox: the shim watches a waiter instead.
    if (pod.kind == PodRole::Kind::kMember) rec.pid = start_pod_waiter(dir, runsc, config.root, options.id);
    if (!options.pid_file.empty()) sys::replace_file(options.pid_file, std::to_string(rec.pid), "write --pid-file", 0644);
  }
  auto stat = sys::process_stat(rec.pid);
  rec.pid_start_time = stat ? stat->start_time : 0;
  rec.status = "created";
  s->record().save();
  run_hooks(spec.hooks.prestart, "prestart", oci_state_json(rec, "created", false), true);
  run_hooks(spec.hooks.create_runtime, "createRuntime", oci_state_json(rec, "created", false), true);
  return s;
}

}  // namespace nucleus::gvisor
