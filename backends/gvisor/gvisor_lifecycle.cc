// The gVisor backend's verbs after create: start, wait, state, kill, delete, pause/resume,
// ps, update and exec, each driving runsc with the flags the container was created with
// (its record's `data`) and runsc's state in the record's directory.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "backends/gvisor/gvisor_backend.h"
#include "backends/gvisor/gvisor_pod.h"
#include "backends/gvisor/gvisor_session.h"
#include "backends/gvisor/init_filters.h"
#include "backends/gvisor/oci_bundle.h"
#include "core/init/filter_file.h"
#include "backends/gvisor/runsc/runsc_args.h"
#include "backends/gvisor/runsc/runsc_gaps.h"
#include "backends/gvisor/runsc/runsc_locate.h"
#include "backends/gvisor/runsc/runsc_process.h"
#include "backends/gvisor/runsc/sandbox_control.h"
#include "config/oci/oci_hooks.h"
#include "config/spec_json.h"
#include "core/sys/error.h"
#include "core/sys/exit_codes.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"


namespace nucleus::gvisor {
namespace {

using json = nlohmann::json;

constexpr int kRunscFailed = 128;  // runsc's exit status when runsc itself fails

// A pod member's stdio, as the runc shim gave them to `create`: its waiter keeps them
// (gvisor_pod.h), and runsc hands a member the stdio of its `runsc start`. None for other
// containers, and for a waiter that is gone.
std::vector<UniqueFd> member_stdio(const ContainerRecord& r) {
  if (pod_role(r.annotations, r.name).kind != PodRole::Kind::kMember) return {};
  UniqueFd pidfd(sys::raw_pidfd_open(r.pid));
  auto stat = sys::process_stat(r.pid);
  if (!pidfd || !stat || stat->start_time != r.pid_start_time) return {};
  std::vector<UniqueFd> out;
  for (int fd = 0; fd < 3; ++fd) {
    out.emplace_back(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
    if (!out.back()) throw_errno("take the pod member's stdio from its waiter");
  }
  return out;
}

// Signals a process ignores unless it asked for them: a created container, whose command
// has not run, has nothing to deliver them to. Any other signal ends it, as it would end
// runc's init waiting on its exec fifo.
bool ignored_by_default(int signal) {
  return signal == 0 || signal == SIGCHLD || signal == SIGCONT || signal == SIGURG || signal == SIGWINCH;
}

}  // namespace

Runsc::Runsc(const std::string& record_dir, const std::string& data) : binary(locate_runsc()), dir(record_dir) {
  json d = data.empty() ? json::object() : json::parse(data, nullptr, false);
  if (!d.is_object()) d = json::object();
  config.runsc = binary;
  config.root = d.value("root", "");  // a pod's shared root, or the record's own
  if (config.root.empty()) config.root = dir + "/runsc";
  config.platform = d.value("platform", "ptrace");
  config.network = d.value("network", "none") == "host" ? NetworkMode::kHost : NetworkMode::kNone;
  config.sandbox_network = d.value("network", "none") == "sandbox";
  config.manage_cgroups = d.value("manage_cgroups", true);
  config.oci_seccomp = d.value("oci_seccomp", true);
  config.memory_overlay = d.value("memory_overlay", false);
  log.reset(::open((dir + "/runsc.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!log) throw_errno("open the runsc log", dir);
  ::fcntl(log.get(), F_SETFD, 0);  // runsc inherits it (--log-fd)
  config.log_fd = log.get();
}

std::string Runsc::data_of(const RunscConfig& c) {
  return json{{"platform", c.platform},
              {"root", c.root},
              {"network", c.sandbox_network ? "sandbox" : c.network == NetworkMode::kHost ? "host" : "none"},
              {"manage_cgroups", c.manage_cgroups},
              {"oci_seccomp", c.oci_seccomp},
              {"memory_overlay", c.memory_overlay}}
      .dump();
}

std::vector<std::string> Runsc::args(std::initializer_list<std::string> verb) const {
  std::vector<std::string> a = global_args(config);
  a.insert(a.end(), verb.begin(), verb.end());
  return a;
}

void Runsc::must(const std::string& what, const std::vector<std::string>& a, bool attached) const {
  int rc = attached ? run_runsc_attached(binary, a) : run_runsc(binary, a);
  if (rc == 0) return;
  std::string error = last_runsc_error(dir + "/runsc.log");
  throw Error("runsc " + what, error.empty() ? "failed (exit code " + std::to_string(rc) + ")" : error);
}

std::string Runsc::status(const std::string& id) const {
  // The sandbox's own answer first (runsc/sandbox_control.h): `runsc state` is a Go
  // runtime's start, 30 ms here, asked by containerd's shim after every step.
  auto st = ask_sandbox(config.root, id, [](const SandboxControl& s) { return s.status(); });
  if (st && *st) return **st;
  std::string out;
  if (run_runsc(binary, {"--root=" + config.root, "state", id}, &out) != 0) return "stopped";
  json state = json::parse(out, nullptr, false);
  if (!state.is_object()) return "stopped";
  return state.value("status", "stopped");
}

void Runsc::delete_state(const std::string& id) const {
  if (has_runsc_state(config.root, id)) run_runsc(binary, delete_args(config, id));
  remove_pod_root_if_empty(config.root);
}

GvisorSession::~GvisorSession() {
  // Whatever happens, runsc's state for this container goes (safe to run twice).
  try {
    if (detached() || config.root.empty()) return;
    const std::string& id = record().record().name;
    if (has_runsc_state(config.root, id)) run_runsc(config.runsc, delete_args(config, id));
    release_pod_waiter(dir());
    remove_pod_root_if_empty(config.root);
  } catch (const std::exception&) {
  }
}

bool GvisorSession::workload_started() {
  std::string out;
  if (run_runsc(config.runsc, {"--root=" + config.root, "ps", "--format", "json", record().record().name}, &out) != 0) {
    return false;
  }
  json list = json::parse(out, nullptr, false);
  return list.is_array() && list.size() >= 2;  // nucleus-init and the workload it started
}

bool GvisorSession::forward(int signal) {
  // The sandbox itself first (runsc/sandbox_control.h: no runsc ps and runsc kill, two Go
  // runtime starts, between a ^C and the workload).
  try {
    // Found once runsc has state for the sandbox; the same for the container's life.
    if (!control_) control_ = SandboxControl::find(config.root, record().record().name);
    if (const std::optional<SandboxControl>& sandbox = control_) {
      if (std::optional<size_t> processes = sandbox->process_count()) {
        if (!started_ && !(started_ = *processes >= 2)) return false;
        sandbox->signal(0, signal);
        return true;  // refused now, the container is ending: nothing left to signal
      }
    }
  } catch (const Error&) {
    // An answer nucleus cannot read, or a listener that is not the sandbox: runsc's way.
  }
  if (!started_ && !(started_ = workload_started())) return false;
  run_runsc(config.runsc, kill_args(config, record().record().name, signal));
  return true;
}

void GvisorSession::kill_now() {
  if (cgroup()) {
    cgroup()->kill_all();
  } else {
    forward(SIGKILL);
  }
}

// The Sentry backs guest memory with its own memfd and does not know the cgroup's limit
// (runsc learns it only from cgroups it manages itself, which nucleus does not let it do:
// they would not be below nucleus's own). At the limit its allocations fail and the guest
// stalls instead of being OOM-killed. So nucleus watches: the cgroup at its limit with
// charges still failing for a second is an out-of-memory kill.
bool GvisorSession::watchdog() {
  Cgroup::MemoryState m = cgroup()->memory_state();
  bool at_limit = m.limit > 0 && m.usage + (1u << 20) >= m.limit && m.failures > last_failures_;
  last_failures_ = m.failures;
  pressure_ = at_limit ? pressure_ + 1 : 0;
  return pressure_ >= 5;
}

Capabilities GvisorBackend::capabilities() {
  std::string path;
  try {
    path = locate_runsc();
  } catch (const Error& e) {
    return {{"runsc", std::string("unusable: ") + e.what()}};
  }
  RunscInfo info = runsc_info(path);
  std::string platforms;
  for (const std::string& p : info.platforms) platforms += (platforms.empty() ? "" : ", ") + p;
  std::string chosen = choose_platform(GvisorPlatform::kAuto, info.platforms);
  std::string why;
  bool works = ::geteuid() == 0 && platform_works(path, chosen, 20, &why);
  if (::geteuid() != 0) why = "not tried: needs root";
  Capabilities out = {{"runsc", path + " (version " + info.version + "; platforms " + platforms + "; " + chosen +
                                     (works ? " works" : " does not work: " + why) + ")"},
                       {"landlock", "not applied (the Sentry has no Landlock)"}};
  // What this runsc cannot do and what nucleus does about each (runsc_gaps.cc); the statx
  // gap seen live when the platform works.
  std::vector<RunscGap> gaps = runsc_gaps(info.version);
  out.emplace_back("runsc gaps", std::to_string(gaps.size()) + " known for this release");
  for (const RunscGap& gap : gaps) out.emplace_back("  - " + gap.what, "nucleus: " + gap.answer);
  if (works) {
    std::optional<bool> seen = sentry_rejects_no_automount(path, chosen);
    bool expected = sentry_gaps(info.version).rejects_no_automount;
    out.emplace_back("statx probe", std::string("`stat /` in a bare sandbox ") +
                                        (!seen ? "told nothing" : *seen ? "fails with EINVAL" : "works") +
                                        (expected ? " (nucleus-init traces workloads on this release)"
                                                  : " (nucleus-init does not trace)"));
  }
  return out;
}

int GvisorBackend::wait(ContainerSession& held) {
  auto& s = static_cast<GvisorSession&>(held);
  int code = held.wait({.timeout_seconds = s.spec.timeout_seconds, .memory_limit = s.spec.limits.memory_bytes, .oom_is_fatal = true});
  if (code == kRunscFailed && !held.record().record().oom_killed) {
    std::string error = last_runsc_error(s.log_path);
    if (!error.empty()) throw Error("runsc", error);
  }
  return code;
}

std::string GvisorBackend::status(const ContainerRecord& record, const std::string& dir) {
  return Runsc(dir, record.data).status(record.name);
}

void GvisorBackend::start(LockedContainer& c, ContainerSession* held) {
  if (held == nullptr) {
    Runsc runsc(c.path(), c.record().data);
    std::string st = runsc.status(c.record().name);
    if (st != "created") throw Error(c.record().name, "cannot start a container that is " + st);
    StartOptions how;
    how.hide_net_sysctls =
        runsc.config.sandbox_network && mistakes_every_netns_for_the_hosts(runsc_info(runsc.binary).version);
    std::vector<UniqueFd> stdio = member_stdio(c.record());
    for (size_t fd = 0; fd < stdio.size(); ++fd) how.stdio[fd] = stdio[fd].get();
    if (run_runsc_start(runsc.binary, runsc.args({"start", c.record().name}), how) != 0) {
      std::string error = last_runsc_error(c.path() + "/runsc.log");
      throw Error("runsc start", error.empty() ? "failed" : error);
    }
    release_pod_waiter(c.path());
  }
  c.record().status = "running";
  c.save();
  if (held) {
    c.unlock();
    return;
  }
  run_hooks(read_spec_file(c.path()).hooks.poststart, "poststart", oci_state_json(c.record(), "running", false), false);
}

namespace {

// The signal through the sandbox's control socket, as runsc kill sends it to a running
// container; false when the sandbox cannot be asked (runsc kill then decides). Refused,
// the container's PID 1 ended since its status was read: runc's answer for a stopped
// container ("container not running"; `--all`: done). Refused while it still runs:
// runsc kill's own answer.
bool signal_through_sandbox(const Runsc& runsc, const std::string& id, int signal, bool all) {
  enum Outcome { kDelivered, kStopped, kAskRunsc };
  auto outcome = ask_sandbox(runsc.config.root, id, [&](const SandboxControl& s) {
    if (s.signal(0, signal, all)) return kDelivered;
    return s.status() == std::optional<std::string>("stopped") ? kStopped : kAskRunsc;
  });
  if (!outcome || *outcome == kAskRunsc) return false;
  if (*outcome == kDelivered || all) return true;
  throw Error(id, "container not running");
}

// `kill --all` of a stopped pod member: its PID 1 has ended, but processes it left in the
// sandbox may not have (containerd asks exactly this of a container that shares a pid
// namespace); runsc signals them too. Best effort: runc's answer is success either way.
void signal_what_is_left(const Runsc& runsc, const std::string& id, int signal) {
  (void)ask_sandbox(runsc.config.root, id, [&](const SandboxControl& s) { return s.signal(0, signal, /*all=*/true); });
}

}  // namespace

// runc's answers, whose words containerd's shim matches (its checkKillError): `kill --all`
// of a stopped container succeeds, a plain kill says "container not running". runsc
// refuses to signal a created container; runc's init would die of the signal, so the
// container is ended as runsc ends one (`delete --force`: a pod member alone, a sandbox
// with its sandbox).
void GvisorBackend::kill(LockedContainer& c, int signal, bool all) {
  Runsc runsc(c.path(), c.record().data);
  const std::string& id = c.record().name;
  const std::string st = runsc.status(id);
  if (st == "stopped") {
    if (!all) throw Error(id, "container not running");
    signal_what_is_left(runsc, id, signal);
    return;
  }
  if (st == "created") {
    if (ignored_by_default(signal)) return;
    runsc.must("delete", runsc.args({"delete", "--force", id}));
    release_pod_waiter(c.path());
    c.record().status = "stopped";
    c.save();
    return;
  }
  // A paused one takes runsc's way (runsc refuses to signal it).
  if (st == "running" && signal_through_sandbox(runsc, id, signal, all)) return;
  std::vector<std::string> args = runsc.args({"kill"});
  if (all) args.push_back("--all");
  args.insert(args.end(), {c.record().name, std::to_string(signal)});
  runsc.must("kill", args);
}

void GvisorBackend::remove(LockedContainer& c, bool force, ContainerSession* held) {
  if (held) {
    try {
      c.relock();
    } catch (const Error&) {
      return;
    }
    held->main() = OwnedChild();
    Runsc(c.path(), c.record().data).delete_state(c.record().name);
    if (Cgroup* cgroup = held->cgroup()) cgroup->destroy();
    c.remove();
    return;
  }
  if (c.corrupted()) {
    if (!force) c.refuse_corrupted();
    const std::string id = c.path().substr(c.path().find_last_of('/') + 1);
    const std::string pod_root = find_pod_runsc_root(c.path().substr(0, c.path().find_last_of('/')), id);
    run_runsc(locate_runsc(), {"--root=" + (pod_root.empty() ? c.path() + "/runsc" : pod_root), "delete", "--force", id});
    release_pod_waiter(c.path());
    c.remove();
    if (!pod_root.empty()) remove_pod_root_if_empty(pod_root);
    return;
  }
  Runsc runsc(c.path(), c.record().data);
  std::string st = runsc.status(c.record().name);
  if ((st == "running" || st == "paused") && !force) {
    throw Error(c.record().name, "the container is " + st + ": stop it first, or delete --force");
  }
  if (!c.record().persistent && !record_is_stale(c.path())) {
    // Held by a `run` elsewhere: its sandbox is killed, and that run removes the rest.
    if (st != "stopped") run_runsc(runsc.binary, runsc.args({"kill", "--all", c.record().name, "9"}));
    c.unlock();
    for (int i = 0; i < 1000 && ::access(c.path().c_str(), F_OK) == 0; ++i) ::usleep(10000);
    return;
  }
  if (st == "stopped") {
    runsc.delete_state(c.record().name);  // none left once `runsc run` ended (run --keep)
  } else if (has_runsc_state(runsc.config.root, c.record().name)) {  // none: killed before it started
    std::vector<std::string> args = runsc.args({"delete"});
    if (force) args.push_back("--force");
    args.push_back(c.record().name);
    int rc = run_runsc(runsc.binary, args);
    if (rc != 0 && !force) runsc.must("delete", args);
  }
  release_pod_waiter(c.path());
  if (std::unique_ptr<Cgroup> cgroup = open_cgroup(c.record().cgroup)) cgroup->destroy();
  HooksSpec hooks;
  try {
    hooks = read_spec_file(c.path()).hooks;
  } catch (const Error&) {
  }
  run_hooks(hooks.poststop, "poststop", oci_state_json(c.record(), "stopped", false), false);
  c.remove();
  remove_pod_root_if_empty(runsc.config.root);
}

void GvisorBackend::pause(LockedContainer& c, bool paused) {
  Runsc runsc(c.path(), c.record().data);
  runsc.must(paused ? "pause" : "resume", runsc.args({paused ? "pause" : "resume", c.record().name}));
  // The record says so too: exec reads it rather than asking runsc (a Go process start).
  c.record().status = paused ? "paused" : "running";
  c.save();
}

std::vector<pid_t> GvisorBackend::pids(const ContainerRecord& record, const std::string& dir) {
  Runsc runsc(dir, record.data);
  auto listed = ask_sandbox(runsc.config.root, record.name, [](const SandboxControl& s) { return s.processes(); });
  if (listed && *listed) return **listed;
  std::string out;
  if (run_runsc(runsc.binary, runsc.args({"ps", "--format", "json", record.name}), &out) != 0) {
    throw Error("runsc ps", last_runsc_error(dir + "/runsc.log"));
  }
  std::vector<pid_t> pids;
  json list = json::parse(out, nullptr, false);
  if (list.is_array()) {
    for (const json& p : list) {
      if (p.is_object() && p.contains("PID")) pids.push_back(p["PID"].get<pid_t>());
      if (p.is_number_integer()) pids.push_back(p.get<pid_t>());
    }
  }
  return pids;
}

// runsc has no update; nucleus's own containers sit in a cgroup of nucleus's, whose limits
// bind the whole sandbox (the pids limit scaled as at create).
void GvisorBackend::update(LockedContainer& c, const CgroupLimits& limits) {
  Runsc runsc(c.path(), c.record().data);
  if (runsc.config.manage_cgroups) {
    throw Error(c.record().name, "update is not supported for a gVisor container whose cgroup runsc manages");
  }
  if (runsc.status(c.record().name) == "stopped") throw Error(c.record().name, "the container is stopped");
  std::unique_ptr<Cgroup> cgroup = open_cgroup(c.record().cgroup);
  if (!cgroup) throw Error(c.record().name, "the container has no cgroup");
  require_controllers_for_update(*cgroup, limits, c.record().name);
  CgroupLimits scaled = limits;
  if (scaled.pids && *scaled.pids > 0) scaled.pids = *scaled.pids * 16 + 256;
  cgroup->apply(scaled);
}

}  // namespace nucleus::gvisor
