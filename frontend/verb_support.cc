#include "frontend/verb_support.h"

#include "core/cgroup/systemd_path.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cctype>
#include <climits>

#include <fcntl.h>

#include "config/oci/oci_config.h"
#include "config/validate.h"
#include "core/service/duration.h"
#include "core/service/events.h"
#include "core/service/log_writer.h"
#include "core/sys/error.h"
#include "core/sys/rfc3339.h"

namespace nucleus::frontend {

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

ContainerSpec load_bundle(const Globals& g, const std::string& bundle_dir) {
  ContainerSpec spec = load_oci_bundle(absolute(bundle_dir));
  if (g.systemd_cgroup) spec.cgroups_path = cgroupfs_path_of_systemd(spec.cgroups_path);
  if (g.gvisor_by_name && !spec.annotations.count("run.nucleus.backend")) spec.backend = BackendKind::kGvisor;
  return spec;
}

void add_bundle_flags(CLI::App& cmd, BundleFlags& f) {
  cmd.add_option("-b,--bundle", f.bundle, "Bundle directory (default: the current one)");
  cmd.add_option("--pid-file", f.pid_file, "Write the container's init pid here");
  cmd.add_option("--console-socket", f.console_socket, "AF_UNIX socket to receive the pty master");
  cmd.add_flag("--no-pivot", f.no_pivot, "Refused: nucleus always uses pivot_root");
  cmd.add_flag("--no-new-keyring", f.no_new_keyring, "Accepted: nucleus never creates a session keyring");
  cmd.add_option("--preserve-fds", f.preserve_fds, "Pass fds 3 to 3+N-1 to the container's process (native)");
}

BundleCreate prepare_bundle_create(const Globals& g, const BundleFlags& f, bool foreground) {
  if (f.no_pivot) throw Error("--no-pivot", "nucleus always pivots into the root (a chroot can be escaped)");
  check_preserved_fds(f.preserve_fds);
  check_id(f.id);
  ContainerSpec spec = load_bundle(g, f.bundle);
  CreateOptions options{.id = f.id, .root = g.root, .foreground = foreground,
                        .pid_file = f.pid_file.empty() ? "" : absolute(f.pid_file), .console_socket = f.console_socket,
                        .preserve_fds = f.preserve_fds};
  return {std::move(spec), std::move(options)};
}

std::string since_flag(const std::optional<std::string>& value) {
  if (!value) return "";
  std::optional<std::string> t = service::since_timestamp(*value);
  if (!t) throw Error("--since", "'" + *value + "' is neither a time (2026-12-06T05:00:00Z) nor a duration (10m)");
  return *t;
}

void check_preserved_fds(unsigned count) {
  if (count > 1024) throw Error("--preserve-fds", std::to_string(count) + " is more than 1024");
  for (unsigned fd = 3; fd < 3 + count; ++fd) {
    if (::fcntl(static_cast<int>(fd), F_GETFD) < 0) {
      throw Error("--preserve-fds", "fd " + std::to_string(fd) + " is not open (it would pass one of nucleus's own)");
    }
  }
}

std::unique_ptr<Backend> backend_of(const ContainerRecord& record, const std::string& dir) {
  std::string name = record.backend;
  // A corrupted record names no backend: a gVisor container keeps runsc's state beside it.
  if (name.empty()) name = ::access((dir + "/runsc").c_str(), F_OK) == 0 ? "gvisor" : "native";
  return backend_for(name == "gvisor" ? BackendKind::kGvisor : BackendKind::kNative);
}

void add_locked_verb(CLI::App& app, Globals& g, Action& action, const char* name, const char* about,
                     const std::function<void(CLI::App&)>& extra, LockedVerb verb, bool tolerate_corruption) {
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(name, about);
  cmd->add_option("id", *id, "Container id or name")->required();  // first: `kill ID SIGNAL`
  extra(*cmd);
  cmd->callback([id, &g, &action, verb, tolerate_corruption] {
    action = [id, &g, verb, tolerate_corruption] {
      check_id(*id);
      LockedContainer c(g.root, *id, tolerate_corruption);
      return verb(*backend_of(c.record(), c.path()), c);
    };
  });
}

void leave_lifecycle_events(ContainerSession& container, const std::string& root, const timespec* started,
                            std::optional<int> exit_code) {
  const ContainerRecord& r = container.record().record();
  std::string lines = service::event_line(r.created, r.name, "create");
  if (started) lines += service::event_line(rfc3339(*started), r.name, "start");
  if (exit_code) lines += service::event_line(rfc3339_now(), r.name, "die", service::die_attributes(*exit_code, r.oom_killed));
  container.leave_events(service::events_path(root), lines);
}

}  // namespace nucleus::frontend
