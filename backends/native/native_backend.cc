#include "backends/native/native_backend.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "backends/native/child.h"
#include "backends/native/clone.h"
#include "backends/native/handshake.h"
#include "backends/native/launch_plan.h"
#include "backends/native/monitor.h"
#include "config/presets.h"
#include "config/validate.h"
#include "core/env_filter.h"
#include "core/error.h"
#include "core/init/signals.h"
#include "core/init/supervisor.h"
#include "core/scoped.h"
#include "core/sys.h"

namespace nucleus::native {
namespace {

std::string canonical(const std::string& path, const std::string& what) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) throw_errno(what, path);
  return resolved;
}

// Options whose mechanism is not built into the native backend yet: refused, never
// silently ignored.
void refuse_unbuilt_options(const WorkloadSpec& spec) {
  auto unbuilt = [](const std::string& option) {
    throw Error(option, "not supported by this version of nucleus yet");
  };
  if (!spec.capabilities.add.empty() || !spec.capabilities.drop.empty()) unbuilt("--cap-add/--cap-drop");
  if (spec.seccomp.mode != SeccompMode::kDefault) unbuilt("--seccomp");
  if (spec.landlock) unbuilt("--landlock");
  const ResourceSpec& r = spec.resources;
  if (r.memory_bytes || r.cpus || r.pids) unbuilt("--memory/--cpus/--pids-limit");
  if (spec.sd_notify) unbuilt("--sd-notify");
  if (!spec.name.empty()) unbuilt("--name");
}

// Canonical paths, checked again after symlinks are resolved (a volume source that is a
// link to /etc is refused like /etc itself).
WorkloadSpec resolve_paths(const WorkloadSpec& spec) {
  WorkloadSpec out = spec;
  if (out.rootfs) {
    out.rootfs = canonical(*out.rootfs, "rootfs");
    struct stat st;
    if (::stat(out.rootfs->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw Error("rootfs", *out.rootfs + " is not a directory");
    }
    if (*out.rootfs == "/") throw Error("rootfs", "resolves to the host's /");
    for (const char* dir : {"proc", "sys", "dev"}) {
      std::string path = *out.rootfs + "/" + dir;
      if (::lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        throw Error("rootfs", path + " must be an ordinary directory");
      }
    }
  }
  for (VolumeSpec& v : out.volumes) {
    v.source = canonical(v.source, "volume");
    if (auto problem = check_volume_source(v.source)) throw Error("volume", *problem);
  }
  return out;
}

HostContext real_host(const WorkloadSpec& spec) {
  HostContext host;
  host.uid = ::geteuid();
  host.gid = ::getegid();
  host.caller_is_root = host.uid == 0;
  host.caller_term = sanitize_term(::getenv("TERM"));
  host.probe = probe_host;
  const std::optional<std::string> rootfs = spec.rootfs;
  host.read_container_file = [rootfs](const std::string& rel) -> std::string {
    try {
      if (!rootfs) return sys::read_file("/" + rel, 1u << 20, "read /" + rel);
      UniqueFd root = sys::open(*rootfs, O_PATH | O_DIRECTORY, "open rootfs");
      return sys::read_file_in_root(root.get(), rel, 1u << 20, "read " + rel + " in the rootfs");
    } catch (const Error& e) {
      if (e.err() == ENOENT) return {};
      throw;
    }
  };
  std::vector<std::string> mounted = {"/tmp"};
  for (const auto& v : spec.volumes) mounted.push_back(v.destination);
  for (const auto& t : spec.tmpfs) mounted.push_back(t.destination);
  host.container_has_dir = [rootfs, mounted](const std::string& path) {
    if (path == "/") return true;
    if (rootfs) {
      struct stat st;
      return ::stat((*rootfs + path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    for (const std::string& m : mounted) {
      if (path == m || path.rfind(m + "/", 0) == 0) return true;
    }
    return false;
  };
  return host;
}

// Blocks the forwarded signals for the lifetime of the run and reads them from a signalfd;
// the child inherits the mask, so its PID 1 never misses one either.
class ForwardedSignals {
 public:
  ForwardedSignals() {
    sigset_t set;
    init::forwarded_signal_set(&set);
    if (::sigprocmask(SIG_BLOCK, &set, &old_) != 0) throw_errno("block forwarded signals");
    fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) throw_errno("create a signalfd");
  }
  ~ForwardedSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;
  int fd() const { return fd_.get(); }

 private:
  sigset_t old_;
  UniqueFd fd_;
};

}  // namespace

int NativeBackend::run(const WorkloadSpec& requested) {
  refuse_unbuilt_options(requested);
  const WorkloadSpec spec = resolve_paths(requested);
  const Preset& preset = preset_for(spec.isolation);
  LaunchPlan plan = build_launch_plan(spec, preset, real_host(spec));
  for (const std::string& name : plan.dropped_env) {
    spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
  }
  plan.finalize();

  ForwardedSignals signals;
  auto [parent_end, child_end] = sys::socketpair(SOCK_SEQPACKET, "create the sync socket");
  require_single_thread();
  UniqueFd pidfd;
  pid_t pid = clone_container(plan.clone_flags, &pidfd);
  if (pid == 0) {
    ::close(parent_end.get());
    run_child(plan, child_end.get());
  }
  OwnedChild child(pid, std::move(pidfd));  // killed and reaped if anything below throws
  child_end.reset();

  if (plan.user_namespace) write_id_maps(pid, plan.ids);
  UniqueFd tree;
  if (plan.idmapped_rootfs) tree = make_idmapped_tree(plan.rootfs, pid);
  send_go(parent_end.get(), tree.get());
  tree.reset();

  MonitorOptions options;
  options.sync_fd = parent_end.get();
  options.signal_fd = signals.fd();
  options.timeout_seconds = spec.timeout_seconds;
  MonitorResult result = monitor_container(child, options);
  if (result.report) throw describe_child_failure(plan, *result.report);
  if (result.timed_out) {
    spdlog::warn("workload timed out after {}s", *spec.timeout_seconds);
    return exit_code::kTimeout;
  }
  return init::exit_code_from_wait_status(result.wait_status);
}

}  // namespace nucleus::native
