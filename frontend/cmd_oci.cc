// The OCI runtime verbs, with runc's and crun's flags (runc/libcontainer's command line is
// what conmon, containerd's shim and CRI-O speak): create, start, state, kill, delete, list,
// spec, features, exec, ps, pause, resume, update. Each reads or locks the container's
// record under --root and hands the mechanics to the backend that created it.
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "backends/gvisor/gvisor_backend.h"
#include "backends/native/native_backend.h"
#include "config/oci/oci_config.h"
#include "config/units.h"
#include "config/validate.h"
#include "core/sys/error.h"
#include "core/policy/identity.h"
#include "core/sys/sys.h"
#include "frontend/cli.h"

namespace nucleus::frontend {
namespace {

using json = nlohmann::json;

std::unique_ptr<Backend> backend_named(std::string_view name) {
  if (name == "gvisor") return std::make_unique<gvisor::GvisorBackend>();
  return std::make_unique<native::NativeBackend>();
}

void check_id(const std::string& id) {
  if (auto problem = check_container_name(id)) throw Error(id, *problem);
}

std::optional<int> parse_signal(std::string name) {
  if (name.empty()) return std::nullopt;
  if (name.find_first_not_of("0123456789") == std::string::npos) {
    int n = std::atoi(name.c_str());
    return n > 0 && n < NSIG ? std::optional<int>(n) : std::nullopt;
  }
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  if (name.rfind("RTMIN+", 0) == 0) return SIGRTMIN + std::atoi(name.c_str() + 6);
  if (name.rfind("RTMAX-", 0) == 0) return SIGRTMAX - std::atoi(name.c_str() + 6);
  return std::nullopt;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) throw_errno("getcwd");
  return path.empty() || path == "." ? cwd : std::string(cwd) + "/" + path;
}

// `--systemd-cgroup` paths are "slice:prefix:name"; without systemd nucleus keeps to
// cgroupfs, under the same names systemd would use (/slice/prefix-name.scope).
std::string cgroupfs_path_of_systemd(const std::string& path) {
  size_t a = path.find(':');
  size_t b = a == std::string::npos ? a : path.find(':', a + 1);
  if (b == std::string::npos) return path;
  std::string slice = path.substr(0, a), prefix = path.substr(a + 1, b - a - 1), name = path.substr(b + 1);
  if (slice.empty()) slice = "system.slice";
  return "/" + slice + "/" + (prefix.empty() ? name : prefix + "-" + name) + ".scope";
}

void add_create(CLI::App& app, OciGlobals& g, Action& action) {
  struct Flags {
    std::string bundle = ".", pid_file, console_socket, id;
    bool no_pivot = false, no_new_keyring = false;
    int preserve_fds = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("create", "Create a container from an OCI bundle (stopped before its exec)");
  cmd->add_option("-b,--bundle", f->bundle, "Bundle directory (default: the current one)");
  cmd->add_option("--pid-file", f->pid_file, "Write the container's init pid here");
  cmd->add_option("--console-socket", f->console_socket, "AF_UNIX socket to receive the pty master");
  cmd->add_flag("--no-pivot", f->no_pivot, "Refused: nucleus always uses pivot_root");
  cmd->add_flag("--no-new-keyring", f->no_new_keyring, "Accepted: nucleus never creates a session keyring");
  cmd->add_option("--preserve-fds", f->preserve_fds, "Refused unless 0");
  cmd->add_option("id", f->id, "Container id")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      if (f->no_pivot) throw Error("--no-pivot", "nucleus always pivots into the root (a chroot can be escaped)");
      if (f->preserve_fds != 0) throw Error("--preserve-fds", "passing extra fds is not supported by nucleus");
      check_id(f->id);
      WorkloadSpec spec = load_oci_bundle(absolute(f->bundle));
      if (g.systemd_cgroup) spec.oci->cgroups_path = cgroupfs_path_of_systemd(spec.oci->cgroups_path);
      std::string backend = spec.backend == BackendKind::kGvisor || (!spec.backend && g.gvisor_by_name) ? "gvisor" : "native";
      backend_named(backend)->create(spec, OciCreateOptions{f->id, g.root, f->pid_file.empty() ? "" : absolute(f->pid_file),
                                                            f->console_socket});
      return 0;
    };
  });
}

// Verbs of one id that take the record's lock.
using LockedVerb = std::function<int(Backend&, LockedContainer&)>;
void add_locked(CLI::App& app, OciGlobals& g, Action& action, const char* name, const char* about,
                const std::function<void(CLI::App&)>& extra, LockedVerb verb, bool tolerate_corruption = false) {
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(name, about);
  cmd->add_option("id", *id, "Container id")->required();  // first: `kill ID SIGNAL`
  extra(*cmd);
  cmd->callback([id, &g, &action, verb, tolerate_corruption] {
    action = [id, &g, verb, tolerate_corruption] {
      check_id(*id);
      LockedContainer c(g.root, *id, tolerate_corruption);
      std::string backend = c.record().backend;
      // A corrupted record names no backend: a gVisor container keeps runsc's state beside it.
      if (backend.empty()) backend = ::access((c.path() + "/runsc").c_str(), F_OK) == 0 ? "gvisor" : "native";
      return verb(*backend_named(backend), c);
    };
  });
}

json state_of(Backend& b, const ContainerRecord& r, const std::string& dir) {
  return json::parse(oci_state_json(r, b.status(r, dir), false));
}

void add_inspecting(CLI::App& app, OciGlobals& g, Action& action) {
  auto id = std::make_shared<std::string>();
  CLI::App* state = app.add_subcommand("state", "Print a container's OCI state (JSON)");
  state->add_option("id", *id, "Container id")->required();
  state->callback([id, &g, &action] {
    action = [id, &g] {
      check_id(*id);
      ContainerRecord r = read_container(g.root, *id);
      std::cout << state_of(*backend_named(r.backend), r, g.root + "/" + *id).dump(2) << "\n";
      return 0;
    };
  });

  struct ListFlags {
    std::string format = "table";
    bool quiet = false;
  };
  auto lf = std::make_shared<ListFlags>();
  CLI::App* list = app.add_subcommand("list", "List containers");
  list->add_option("-f,--format", lf->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  list->add_flag("-q,--quiet", lf->quiet, "Ids only");
  list->callback([lf, &g, &action] {
    action = [lf, &g] {
      json all = json::array();
      for (const std::string& entry : list_records(g.root)) {
        try {
          ContainerRecord r = read_container(g.root, entry);
          if (!r.persistent) continue;
          all.push_back(state_of(*backend_named(r.backend), r, g.root + "/" + entry));
        } catch (const Error&) {
          all.push_back({{"id", entry}, {"status", "unknown"}, {"pid", 0}, {"bundle", ""}, {"created", ""}});
        }
      }
      if (lf->format == "json") {
        std::cout << all.dump() << "\n";
        return 0;
      }
      if (!lf->quiet) std::printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
      for (const json& s : all) {
        std::string name = s["id"].get<std::string>();
        if (lf->quiet) {
          std::cout << name << "\n";
          continue;
        }
        std::printf("%-24s %-8d %-10s %-40s %s\n", name.c_str(), s["pid"].get<int>(), s["status"].get<std::string>().c_str(),
                    s["bundle"].get<std::string>().c_str(), s["created"].get<std::string>().c_str());
      }
      return 0;
    };
  });

  struct PsFlags {
    std::string format = "table", id;
  };
  auto pf = std::make_shared<PsFlags>();
  CLI::App* ps = app.add_subcommand("ps", "List the processes of a container");
  ps->add_option("-f,--format", pf->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  ps->add_option("id", pf->id, "Container id")->required();
  ps->callback([pf, &g, &action] {
    action = [pf, &g] {
      check_id(pf->id);
      ContainerRecord r = read_container(g.root, pf->id);
      std::vector<pid_t> pids = backend_named(r.backend)->pids(r, g.root + "/" + pf->id);
      if (pf->format == "json") {
        std::cout << json(pids).dump() << "\n";
        return 0;
      }
      std::cout << "PID\n";
      for (pid_t p : pids) std::cout << p << "\n";
      return 0;
    };
  });
}

void add_lifecycle(CLI::App& app, OciGlobals& g, Action& action) {
  auto none = [](CLI::App&) {};
  add_locked(app, g, action, "start", "Start a created container", none, [](Backend& b, LockedContainer& c) {
    b.start(c);
    return 0;
  });

  auto kill_all = std::make_shared<bool>(false);
  auto signal = std::make_shared<std::string>("TERM");
  add_locked(
      app, g, action, "kill", "Send a signal to a container (default TERM)",
      [kill_all, signal](CLI::App& cmd) {
        cmd.add_flag("-a,--all", *kill_all, "Every process of the container");
        cmd.add_option("signal", *signal, "Name or number")->capture_default_str();
      },
      [kill_all, signal](Backend& b, LockedContainer& c) {
        auto sig = parse_signal(*signal);
        if (!sig) throw Error("kill", "unknown signal '" + *signal + "'");
        b.kill(c, *sig, *kill_all);
        return 0;
      });

  auto force = std::make_shared<bool>(false);
  add_locked(
      app, g, action, "delete", "Delete a container (a live one only with --force)",
      [force](CLI::App& cmd) { cmd.add_flag("-f,--force", *force, "Kill it first when it is still alive"); },
      [force](Backend& b, LockedContainer& c) {
        b.remove(c, *force);
        return 0;
      },
      true);
  add_locked(app, g, action, "pause", "Freeze every process of a container", none, [](Backend& b, LockedContainer& c) {
    b.pause(c, true);
    return 0;
  });
  add_locked(app, g, action, "resume", "Thaw a paused container", none, [](Backend& b, LockedContainer& c) {
    b.pause(c, false);
    return 0;
  });
}

void add_update(CLI::App& app, OciGlobals& g, Action& action) {
  struct Flags {
    std::optional<std::string> resources, memory, memory_swap, memory_reservation, cpu_quota, cpu_period, cpu_share,
        pids_limit, cpuset_cpus, cpuset_mems, blkio_weight;
  };
  auto f = std::make_shared<Flags>();
  add_locked(
      app, g, action, "update", "Change a container's resource limits",
      [f](CLI::App& cmd) {
        cmd.add_option("-r,--resources", f->resources, "linux.resources as JSON (a file, or - for stdin)");
        cmd.add_option("--memory", f->memory, "Memory limit in bytes");
        cmd.add_option("--memory-swap", f->memory_swap, "Memory plus swap in bytes (-1 unlimited)");
        cmd.add_option("--memory-reservation", f->memory_reservation, "Memory soft limit in bytes");
        cmd.add_option("--cpu-quota", f->cpu_quota, "CFS quota in microseconds");
        cmd.add_option("--cpu-period", f->cpu_period, "CFS period in microseconds");
        cmd.add_option("--cpu-share", f->cpu_share, "CPU shares");
        cmd.add_option("--pids-limit", f->pids_limit, "Maximum tasks");
        cmd.add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs");
        cmd.add_option("--cpuset-mems", f->cpuset_mems, "Memory nodes");
        cmd.add_option("--blkio-weight", f->blkio_weight, "Block I/O weight, 10 to 1000");
      },
      [f](Backend& b, LockedContainer& c) {
        // The same reader as config.json: a linux.resources object, flags laid over it.
        json resources = json::object();
        if (f->resources) {
          std::string text;
          if (*f->resources == "-") {
            text.assign(std::istreambuf_iterator<char>(std::cin), {});
          } else {
            text = sys::read_file(*f->resources, 1u << 20, "read --resources");
          }
          resources = json::parse(text, nullptr, false);
          if (resources.is_discarded()) throw Error("--resources", "not valid JSON");
        }
        auto number = [](const std::optional<std::string>& v, const char* flag) {
          try {
            return std::stoll(*v);
          } catch (const std::exception&) {
            throw Error(flag, "'" + *v + "' is not a number");
          }
        };
        if (f->memory) resources["memory"]["limit"] = number(f->memory, "--memory");
        if (f->memory_swap) resources["memory"]["swap"] = number(f->memory_swap, "--memory-swap");
        if (f->memory_reservation) resources["memory"]["reservation"] = number(f->memory_reservation, "--memory-reservation");
        if (f->cpu_quota) resources["cpu"]["quota"] = number(f->cpu_quota, "--cpu-quota");
        if (f->cpu_period) resources["cpu"]["period"] = number(f->cpu_period, "--cpu-period");
        if (f->cpu_share) resources["cpu"]["shares"] = number(f->cpu_share, "--cpu-share");
        if (f->pids_limit) resources["pids"]["limit"] = number(f->pids_limit, "--pids-limit");
        if (f->cpuset_cpus) resources["cpu"]["cpus"] = *f->cpuset_cpus;
        if (f->cpuset_mems) resources["cpu"]["mems"] = *f->cpuset_mems;
        if (f->blkio_weight) resources["blockIO"]["weight"] = number(f->blkio_weight, "--blkio-weight");
        json config = {{"ociVersion", "1.0.2"},
                       {"root", {{"path", "/"}}},
                       {"process", {{"args", {"update"}}}},
                       {"linux", {{"resources", resources}}}};
        WorkloadSpec spec = parse_oci_config(config.dump(), "/");
        CgroupLimits limits;
        limits.memory_bytes = spec.resources.memory_bytes;
        limits.cpus = spec.resources.cpus;
        if (spec.resources.pids && (f->pids_limit || resources.contains("pids"))) limits.pids = spec.resources.pids;
        limits.memory_swap = spec.oci->memory_swap;
        limits.memory_reservation = spec.oci->memory_reservation;
        limits.cpu_shares = spec.oci->cpu_shares;
        limits.cpu_period_us = spec.oci->cpu_period_us;
        limits.cpuset_cpus = spec.oci->cpuset_cpus;
        limits.cpuset_mems = spec.oci->cpuset_mems;
        limits.io_weight = spec.resources.io_weight;
        b.update(c, limits);
        return 0;
      });
}

void add_exec(CLI::App& app, OciGlobals& g, Action& action, ExecFlags& f) {
  CLI::App* cmd = app.add_subcommand("exec", "Run a process in a running container");
  cmd->add_option("-p,--process", f.process, "The process as OCI JSON (process.json)");
  cmd->add_flag("-t,--tty", f.tty, "Give it a pty (sent to --console-socket)");
  cmd->add_flag("-d,--detach", f.detach, "Return once it runs");
  cmd->add_option("--pid-file", f.pid_file, "Write its pid here");
  cmd->add_option("--console-socket", f.console_socket, "AF_UNIX socket to receive the pty master");
  cmd->add_option("--cwd", f.cwd, "Working directory");
  cmd->add_option("-e,--env", f.env, "KEY=VALUE (repeatable)")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("-u,--user", f.user, "UID[:GID]");
  cmd->add_option("-g,--additional-gids", f.groups, "Supplementary gid (repeatable)")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("-c,--cap", f.caps, "Capability to give it (repeatable)")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--no-new-privs", f.no_new_privs, "Set no_new_privs");
  cmd->callback([&f, &g, &action] {
    action = [&f, &g] {
      if (f.positionals.empty()) throw Error("exec", "no container id given");
      std::string id = f.positionals.front();
      check_id(id);
      ContainerRecord r = read_container(g.root, id);
      OciProcess p;
      if (f.process) {
        std::string text = sys::read_file(*f.process, 4u << 20, "read --process");
        p = parse_oci_process_text(text, *f.process);
        if (f.positionals.size() > 1) throw Error("exec", "give the command in --process or after the id, not both");
      } else {
        if (f.positionals.size() < 2) throw Error("exec", "no command given");
        p.args.assign(f.positionals.begin() + 1, f.positionals.end());
        p.terminal = f.tty;
        p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
        if (f.tty) p.env.push_back("TERM=xterm");
        for (const std::string& e : f.env) p.env.push_back(e);
        if (f.cwd) p.cwd = *f.cwd;
        if (f.user) {
          UserSpec u = parse_user_spec(*f.user, "--user");
          if (!u.user.number || (u.group && !u.group->number)) throw Error("--user", "exec takes numeric ids");
          p.uid = *u.user.number;
          p.gid = u.group ? *u.group->number : 0;
        }
        for (const std::string& gid : f.groups) p.additional_gids.push_back(static_cast<uint32_t>(std::stoul(gid)));
        p.no_new_privileges = f.no_new_privs;
        OciCapabilities caps;
        for (const std::string& c : f.caps) {
          auto cap = capability_from_name(c);
          if (!cap) throw Error("--cap", "unknown capability '" + c + "'");
          CapSet bit = CapSet{1} << *cap;
          caps.bounding |= bit;
          caps.effective |= bit;
          caps.permitted |= bit;
        }
        p.capabilities = caps;
      }
      return backend_named(r.backend)->exec(r, g.root + "/" + id, p,
                                            OciExecOptions{f.pid_file ? absolute(*f.pid_file) : "",
                                                           f.console_socket.value_or(""), f.detach});
    };
  });
}

void add_spec_features(CLI::App& app, Action& action) {
  struct Flags {
    bool rootless = false;
    std::string bundle = ".";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* spec = app.add_subcommand("spec", "Write a default config.json");
  spec->add_flag("--rootless", f->rootless, "For a non-root caller (a user namespace mapping the caller)");
  spec->add_option("-b,--bundle", f->bundle, "Where to write it (default: the current directory)");
  spec->callback([f, &action] {
    action = [f] {
      std::string path = f->bundle + "/config.json";
      UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!out) {
        if (errno == EEXIST) throw Error("spec", path + " exists: remove it first");
        throw_errno("spec: write", path);
      }
      std::string text = default_oci_config(f->rootless).dump(2) + "\n";
      if (sys::write_all(out.get(), text.data(), text.size()) != 0) throw_errno("spec: write", path);
      return 0;
    };
  });
  CLI::App* features = app.add_subcommand("features", "Print what this runtime supports (OCI features JSON)");
  features->callback([&action] {
    action = [] {
      std::cout << oci_features().dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace

void add_oci_commands(CLI::App& app, OciGlobals& g, ExecFlags& exec, Action& action) {
  add_create(app, g, action);
  add_lifecycle(app, g, action);
  add_inspecting(app, g, action);
  add_update(app, g, action);
  add_exec(app, g, action, exec);
  add_spec_features(app, action);
}

}  // namespace nucleus::frontend
