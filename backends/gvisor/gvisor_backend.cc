#include "backends/gvisor/gvisor_backend.h"

#include <malloc.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "backends/gvisor/oci_bundle.h"
#include "backends/gvisor/runsc/runsc_args.h"
#include "backends/gvisor/runsc/runsc_locate.h"
#include "backends/gvisor/runsc/runsc_process.h"
#include "backends/gvisor/state_dir.h"
#include "config/host_paths.h"
#include "config/presets.h"
#include "config/resources.h"
#include "config/units.h"
#include "core/sys/trace_timing.h"
#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"
#include "core/container/keeper.h"
#include "core/policy/env_filter.h"
#include "core/sys/error.h"
#include "core/sys/exit_codes.h"
#include "core/init/supervisor.h"
#include "core/container/monitor.h"
#include "core/policy/seccomp_json.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

constexpr int kRunscFailed = 128;  // runsc's exit status when runsc itself fails

// Refused rather than ignored: these need mechanisms the gVisor backend does not have (yet).
void refuse_unsupported(const WorkloadSpec& spec) {
  if (spec.sd_notify) {
    throw Error("--sd-notify", "not available with the gVisor backend: the sandbox would need host socket "
                               "access (runsc --host-uds), which nucleus does not grant");
  }
  if (spec.landlock.value_or(false)) throw Error("--landlock on", "Landlock cannot apply under gVisor");
  if (!spec.init) throw Error("--no-init", "the gVisor backend always runs nucleus-init as PID 1");
  if (::geteuid() != 0) throw Error("gvisor backend", "runsc needs root; run nucleus as root or use --isolation standard");
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
// runtime dies when the host refuses it a thread (gvisor#2490), so the pids limit the user
// asked for binds the guest instead, as RLIMIT_NPROC, which the Sentry enforces on every
// guest task of a uid (fork fails with EAGAIN, as under the native backend); the host cgroup
// keeps a backstop sized for the Sentry's threads, so a runaway sandbox still cannot take
// the host's pids.
constexpr int64_t kHostTasksPerGuestTask = 16;
constexpr int64_t kSentryBaseTasks = 256;

void set_guest_pids_limit(std::vector<RlimitSetting>& rlimits, std::optional<int64_t> pids) {
  if (!pids || *pids <= 0) return;
  for (RlimitSetting& r : rlimits) {
    if (r.resource == RLIMIT_NPROC) r.soft = r.hard = static_cast<rlim_t>(*pids);
  }
}

CgroupLimits sandbox_cgroup_limits(const WorkloadSpec& spec) {
  CgroupLimits limits = cgroup_limits(spec);
  if (limits.pids && *limits.pids > 0) limits.pids = *limits.pids * kHostTasksPerGuestTask + kSentryBaseTasks;
  return limits;
}

BundleSpec bundle_spec(const WorkloadSpec& spec, const Preset& preset, const std::string& root_path) {
  BundleSpec b;
  b.command = spec.command;
  std::optional<UserSpec> user;
  if (spec.user) user = parse_user_spec(*spec.user, "--user");
  std::vector<IdRef> groups;
  for (const std::string& g : spec.groups) groups.push_back(parse_group_ref(g, "--group-add"));
  b.identity = resolve_identity(user, groups, read_container_file(spec.rootfs, "etc/passwd"),
                                read_container_file(spec.rootfs, "etc/group"));
  BaseEnvironment base;
  base.term = sanitize_term(::getenv("TERM"));
  base.home = container_has_dir(spec, b.identity.home) ? b.identity.home : "/";
  Environment env = build_environment(base, spec.env);
  for (const std::string& name : env.dropped) {
    spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
  }
  b.env = std::move(env.entries);
  b.cwd = spec.workdir;
  b.capabilities = resolve_capabilities(preset.root_capabilities, b.identity.uid == 0, spec.capabilities.add,
                                        spec.capabilities.drop);
  b.ambient = b.identity.uid != 0 && b.capabilities != 0;
  b.rlimits = plan_rlimits({.user_namespace = true});  // the sandbox is its own user namespace
  set_guest_pids_limit(b.rlimits, cgroup_limits(spec).pids);
  b.hostname = spec.hostname;
  b.network = spec.network;
  b.root_path = root_path;
  b.root_readonly = !spec.rootfs || spec.read_only;
  if (!spec.rootfs) b.host_view = host_view_items(spec.network == NetworkMode::kHost, probe_host);
  b.volumes = spec.volumes;
  b.tmpfs = spec.tmpfs;
  bool has_tmp = false;
  for (const auto& t : b.tmpfs) has_tmp |= t.destination == "/tmp";
  for (const auto& v : b.volumes) has_tmp |= v.destination == "/tmp";
  if (!has_tmp) b.tmpfs.push_back({"/tmp", kDefaultTmpSize});
  switch (spec.seccomp.mode) {
    case SeccompMode::kDefault:
      b.seccomp = seccomp::resolve(seccomp::default_profile(),
                                   {.caps = b.capabilities, .trusted = preset.level == IsolationLevel::kTrusted});
      break;
    case SeccompMode::kFile:
      b.seccomp = seccomp::resolve(seccomp::load_json_profile(spec.seccomp.profile_path),
                                   {.caps = b.capabilities, .trusted = preset.level == IsolationLevel::kTrusted});
      break;
    case SeccompMode::kUnconfined:
      break;
  }
  return b;
}

// runsc removes a container's state when `runsc run` ends normally; anything left means
// it did not (killed, crashed) and `runsc delete --force` must clean up.
bool has_runsc_state(const std::string& root) {
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) return false;
  bool any = false;
  while (dirent* e = ::readdir(dir)) any |= e->d_name[0] != '.';
  ::closedir(dir);
  return any;
}

}  // namespace

int GvisorBackend::run(const WorkloadSpec& requested) {
  refuse_unsupported(requested);
  const std::string runsc = locate_runsc();
  collect_stale_state(runsc);
  timing::mark("gvisor: stale state collected");
  const WorkloadSpec spec = resolve_host_paths(requested);
  const Preset& preset = preset_for(spec.isolation);
  for (const VolumeSpec& v : spec.volumes) {
    struct stat st;
    if (::stat(v.source.c_str(), &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
      throw Error("volume " + v.source, "gVisor binds only directories and regular files");
    }
  }

  RunscConfig config;
  config.runsc = runsc;
  config.platform = choose_platform(spec.gvisor_platform, runsc_info(runsc).platforms);
  config.network = spec.network;
  config.memory_overlay = spec.rootfs && !spec.read_only;

  // Declared first, so it is dismissed last: it covers everything below.
  std::optional<CleanupKeeper> keeper;
  std::optional<NamedContainer> named;
  if (!spec.name.empty()) named.emplace(kStateRoot, ContainerRecord{.name = spec.name, .backend = "gvisor", .nucleus_pid = ::getpid()});
  StateDir state;
  config.root = state.runsc_root();
  Staging staging;
  std::string root = state.bundle() + "/rootfs";
  if (::mkdir(root.c_str(), 0755) != 0) throw_errno("create the gVisor root", root);
  if (spec.rootfs) {
    staging.overlay = true;
    staging.lower = *spec.rootfs;
    staging.layer = state.path() + "/layer";
    staging.mountpoint = root;
    if (::mkdir(staging.layer.c_str(), 0700) != 0) throw_errno("create the gVisor root", staging.layer);
  }
  BundleSpec bundle = bundle_spec(spec, preset, root);
  bundle.init_source = locate_init();
  bundle.init_filters = write_bundle_filters(state.bundle(), bundle, runsc_info(runsc).version);
  if (!spec.rootfs) make_skeleton(root, bundle.host_view, spec.workdir);
  write_config(state.bundle(), make_config(bundle));
  timing::mark("gvisor: bundle written");
  // scripts/bench only: keep a copy of config.json to time bare runsc on the same bundle.
  if (const char* keep = ::getenv("NUCLEUS_TEST_KEEP_BUNDLE"); keep != nullptr && keep[0] == '/') {
    std::string text = sys::read_file(state.bundle() + "/config.json", 4u << 20, "read the OCI bundle");
    UniqueFd out(::open(keep, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (out) (void)sys::write_all(out.get(), text.data(), text.size());
  }

  const std::string log_path = state.path() + "/runsc.log";
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600));  // inherited by runsc
  if (!log) throw_errno("create the runsc log", log_path);
  config.log_fd = log.get();

  std::unique_ptr<Cgroup> cgroup =
      create_container_cgroup(sandbox_cgroup_limits(spec), spec.resources.requested(), spec.resources.cgroup_parent);
  std::vector<UniqueFd> cgroup_join = open_self_join_files(cgroup.get());
  for (const UniqueFd& fd : cgroup_join) staging.cgroup_join.push_back(fd.get());
  CleanupTargets targets{.gvisor_state = state.path(), .cgroups = cgroup ? cgroup->directories() : std::vector<std::string>{},
                         .record = named ? named->path() : ""};
  keeper.emplace(targets);
  timing::mark("gvisor: cgroup and keeper");
  ForwardedSignals signals;
  OwnedChild child = start_runsc(runsc, run_args(config, state.bundle(), state.id()), staging, log.get());
  log.reset();
  timing::mark("gvisor: runsc started");
  collect_stale_container_cgroups();  // while runsc boots the sandbox
  // Whatever happens below, runsc's state for this container goes (safe to run twice).
  ScopeExit cleanup([&] {
    if (has_runsc_state(config.root)) run_runsc(runsc, delete_args(config, state.id()));
  });

  MonitorOptions options;
  options.signal_fd = signals.fd();
  options.timeout_seconds = spec.timeout_seconds;
  // runsc run does not pass signals on (it dies of them): ask it to signal the container's
  // PID 1, nucleus-init, which forwards them to the workload.
  options.forward = [&](int sig) { run_runsc(runsc, kill_args(config, state.id(), sig)); };
  // The Sentry backs guest memory with its own memfd and does not know the cgroup's limit
  // (runsc learns it only from cgroups runsc manages itself, which nucleus does not let it
  // do: they would not be below nucleus's own cgroups). At the limit its allocations fail
  // and the guest stalls instead of being OOM-killed. So nucleus watches: the cgroup at its
  // limit with charges still failing for a second is an out-of-memory kill.
  int pressure = 0;
  uint64_t last_failures = 0;
  if (cgroup && spec.resources.memory_bytes) {
    options.watchdog = [&] {
      Cgroup::MemoryState m = cgroup->memory_state();
      bool at_limit = m.limit > 0 && m.usage + (1u << 20) >= m.limit && m.failures > last_failures;
      last_failures = m.failures;
      pressure = at_limit ? pressure + 1 : 0;
      return pressure >= 5;
    };
  }
  if (named) {
    named->record().status = "running";
    named->record().cgroup = targets.cgroups;
    named->save();
  }
  if (cgroup) options.kill = [&] { cgroup->kill_all(); };
  options.on_idle = [] {
    sys::release_startup_pages(/*including_heap=*/false);
    ::malloc_trim(0);
  };
  MonitorResult result = monitor_container(child, options);
  timing::mark("gvisor: runsc exited");
  int code = init::exit_code_from_wait_status(result.wait_status);
  // An OOM kill in the cgroup ends the Sentry or the workload; either way the user hears it.
  if (cgroup && spec.resources.memory_bytes && (result.watchdog_fired || cgroup->oom_kills() > 0)) {
    report_to_user("workload killed: out of memory (limit " + format_size(*spec.resources.memory_bytes) + ")");
    if (named) named->finish(128 + SIGKILL, true);
    return 128 + SIGKILL;
  }
  if (named) named->finish(code, false);
  if (code == kRunscFailed) {
    std::string error = last_runsc_error(log_path);
    if (!error.empty()) throw Error("runsc", error);
  }
  if (result.timed_out) {
    spdlog::warn("workload timed out after {}s", *spec.timeout_seconds);
    return exit_code::kTimeout;
  }
  return code;
}

}  // namespace nucleus::gvisor
