// The OCI verbs on the gVisor backend: runsc driven with a copy of the bundle's config.json,
// as containerd's runsc shim does. The copy differs in two ways only: the root path is made
// absolute (the copy lives in the container's state directory) and the environment goes
// through the shared filter (loader variables never reach a workload). runsc's own state
// lives in the container's record directory (<root>/<id>/runsc), its log beside it; runsc
// applies the config's cgroupsPath, seccomp filter (--oci-seccomp) and hooks itself.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "backends/gvisor/gvisor_backend.h"
#include "backends/gvisor/runsc/runsc_args.h"
#include "backends/gvisor/runsc/runsc_locate.h"
#include "backends/gvisor/runsc/runsc_process.h"
#include "core/policy/env_filter.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

using json = nlohmann::json;

// The runsc flags a container was created with (kept in its record), and a log for this call.
struct Runsc {
  std::string binary;
  std::string dir;  // the record's directory
  RunscConfig config;
  UniqueFd log;

  Runsc(const std::string& record_dir, const std::string& data) : binary(locate_runsc()), dir(record_dir) {
    json d = data.empty() ? json::object() : json::parse(data, nullptr, false);
    config.runsc = binary;
    config.root = dir + "/runsc";
    config.platform = d.is_object() ? d.value("platform", "ptrace") : "ptrace";
    config.network = d.is_object() && d.value("network", "none") == "host" ? NetworkMode::kHost : NetworkMode::kNone;
    config.manage_cgroups = true;
    config.oci_seccomp = true;
    log.reset(::open((dir + "/runsc.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!log) throw_errno("open the runsc log", dir);
    ::fcntl(log.get(), F_SETFD, 0);  // runsc inherits it (--log-fd)
    config.log_fd = log.get();
  }
  std::vector<std::string> args(std::initializer_list<std::string> verb) const {
    std::vector<std::string> a = global_args(config);
    a.insert(a.end(), verb.begin(), verb.end());
    return a;
  }
  // Runs a verb; a failure is an Error carrying runsc's own message.
  void must(const std::string& what, const std::vector<std::string>& a, bool attached = false) const {
    int rc = attached ? run_runsc_attached(binary, a) : run_runsc(binary, a);
    if (rc == 0) return;
    std::string error = last_runsc_error(dir + "/runsc.log");
    throw Error("runsc " + what, error.empty() ? "failed (exit code " + std::to_string(rc) + ")" : error);
  }
};

std::string runsc_status(const Runsc& r, const std::string& id) {
  std::string out;
  if (run_runsc(r.binary, {"--root=" + r.config.root, "state", id}, &out) != 0) return "stopped";
  json state = json::parse(out, nullptr, false);
  if (!state.is_object()) return "stopped";
  return state.value("status", "stopped");
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

}  // namespace

void GvisorBackend::create(const WorkloadSpec& spec, const OciCreateOptions& options) {
  const OciSpec& oci = *spec.oci;
  if (oci.process.terminal && options.console_socket.empty()) {
    throw Error("--console-socket", "process.terminal is set: a console socket is needed to receive the terminal");
  }
  if (::geteuid() != 0) throw Error("gvisor backend", "runsc needs root");
  NamedContainer record(options.root, ContainerRecord{.name = options.id, .backend = "gvisor",
                                                      .nucleus_pid = ::getpid(), .persistent = true,
                                                      .bundle = oci.bundle, .created = rfc3339_now(),
                                                      .annotations = oci.annotations});
  const std::string dir = record.path();
  json config = json::parse(sys::read_file(oci.bundle + "/config.json", 4u << 20, "read the bundle's config.json"));
  config["root"]["path"] = *spec.rootfs;
  Environment env = filter_environment(oci.process.env);
  for (const std::string& name : env.dropped) {
    spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
  }
  config["process"]["env"] = with_path(env.entries);
  if (::mkdir((dir + "/bundle").c_str(), 0700) != 0 || ::mkdir((dir + "/runsc").c_str(), 0700) != 0) {
    throw_errno("create the gVisor state", dir);
  }
  sys::create_file(dir + "/bundle/config.json", config.dump(), 0600, "write the gVisor bundle");

  json data = {{"platform", choose_platform(GvisorPlatform::kAuto, runsc_info(locate_runsc()).platforms)},
               {"network", spec.network == NetworkMode::kHost ? "host" : "none"}};
  record.record().data = data.dump();
  Runsc runsc(dir, record.record().data);
  std::vector<std::string> args = runsc.args({"create", "--bundle", dir + "/bundle", "--pid-file", dir + "/pid"});
  if (!options.console_socket.empty()) args.insert(args.end(), {"--console-socket", options.console_socket});
  args.push_back(options.id);
  try {
    runsc.must("create", args, true);
    pid_t pid = static_cast<pid_t>(std::stol(sys::read_file(dir + "/pid", 64, "read runsc's pid file")));
    ContainerRecord& r = record.record();
    r.pid = pid;
    auto stat = sys::process_stat(pid);
    r.pid_start_time = stat ? stat->start_time : 0;
    r.status = "created";
    record.save();
    if (!options.pid_file.empty()) {
      std::string tmp = options.pid_file + ".nucleus-tmp";
      sys::create_file(tmp, std::to_string(pid), 0644, "write --pid-file");
      if (::rename(tmp.c_str(), options.pid_file.c_str()) != 0) throw_errno("write --pid-file", options.pid_file);
    }
  } catch (...) {
    run_runsc(runsc.binary, {"--root=" + runsc.config.root, "delete", "--force", options.id});
    throw;
  }
  record.keep();
}

std::string GvisorBackend::status(const ContainerRecord& record, const std::string& dir) {
  return runsc_status(Runsc(dir, record.data), record.name);
}

void GvisorBackend::start(LockedContainer& c) {
  Runsc runsc(c.path(), c.record().data);
  std::string st = runsc_status(runsc, c.record().name);
  if (st != "created") throw Error(c.record().name, "cannot start a container that is " + st);
  runsc.must("start", runsc.args({"start", c.record().name}));
  c.record().status = "running";
  c.save();
}

void GvisorBackend::kill(LockedContainer& c, int signal, bool all) {
  Runsc runsc(c.path(), c.record().data);
  std::vector<std::string> args = runsc.args({"kill"});
  if (all) args.push_back("--all");
  args.insert(args.end(), {c.record().name, std::to_string(signal)});
  runsc.must("kill", args);
}

void GvisorBackend::remove(LockedContainer& c, bool force) {
  if (c.corrupted()) {
    if (!force) throw Error(c.record().name, "corrupted container state: delete --force removes it");
    run_runsc(locate_runsc(), {"--root=" + c.path() + "/runsc", "delete", "--force", c.record().name});
    c.remove();
    return;
  }
  Runsc runsc(c.path(), c.record().data);
  std::string st = runsc_status(runsc, c.record().name);
  if ((st == "running" || st == "paused") && !force) {
    throw Error(c.record().name, "the container is " + st + ": stop it first, or delete --force");
  }
  std::vector<std::string> args = runsc.args({"delete"});
  if (force) args.push_back("--force");
  args.push_back(c.record().name);
  int rc = run_runsc(runsc.binary, args);
  if (rc != 0 && !force) runsc.must("delete", args);
  c.remove();
}

void GvisorBackend::pause(LockedContainer& c, bool paused) {
  Runsc runsc(c.path(), c.record().data);
  runsc.must(paused ? "pause" : "resume", runsc.args({paused ? "pause" : "resume", c.record().name}));
}

std::vector<pid_t> GvisorBackend::pids(const ContainerRecord& record, const std::string& dir) {
  Runsc runsc(dir, record.data);
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

void GvisorBackend::update(LockedContainer& c, const CgroupLimits&) {
  throw Error(c.record().name, "update is not supported by the gvisor backend (runsc has no update)");
}

int GvisorBackend::exec(const ContainerRecord& record, const std::string& dir, const OciProcess& p, const OciExecOptions& o) {
  Runsc runsc(dir, record.data);
  std::string st = runsc_status(runsc, record.name);
  if (st != "running") throw Error(record.name, "cannot exec in a container that is " + st);
  Environment env = filter_environment(p.env);
  for (const std::string& name : env.dropped) {
    spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", name);
  }
  json process = {{"terminal", p.terminal}, {"args", p.args}, {"env", with_path(env.entries)}, {"cwd", p.cwd},
                  {"user", {{"uid", p.uid}, {"gid", p.gid}, {"additionalGids", p.additional_gids}}},
                  {"noNewPrivileges", p.no_new_privileges}};
  if (p.capabilities) {
    auto names = [](CapSet s) { return capability_names(s); };
    process["capabilities"] = {{"bounding", names(p.capabilities->bounding)},
                               {"effective", names(p.capabilities->effective)},
                               {"permitted", names(p.capabilities->permitted)},
                               {"inheritable", names(p.capabilities->inheritable)},
                               {"ambient", names(p.capabilities->ambient)}};
  }
  json rlimits = json::array();
  for (const RlimitSetting& r : p.rlimits) {
    rlimits.push_back({{"type", std::string("RLIMIT_") + rlimit_name(r.resource)}, {"soft", r.soft}, {"hard", r.hard}});
  }
  process["rlimits"] = rlimits;
  const std::string file = dir + "/exec-" + std::to_string(::getpid()) + ".json";
  sys::create_file(file, process.dump(), 0600, "write the exec process");
  ScopeExit remove_file([&] { ::unlink(file.c_str()); });
  std::vector<std::string> args = runsc.args({"exec", "--process", file});
  if (o.detach) args.push_back("--detach");
  if (!o.pid_file.empty()) args.insert(args.end(), {"--pid-file", o.pid_file});
  if (!o.console_socket.empty()) args.insert(args.end(), {"--console-socket", o.console_socket});
  args.push_back(record.name);
  return run_runsc_attached(runsc.binary, args);
}

}  // namespace nucleus::gvisor
