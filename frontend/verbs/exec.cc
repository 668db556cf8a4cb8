// `nucleus exec [options] ID COMMAND...` or `exec --process FILE ID`: one more process in a
// running container. As runc's: it starts from the container's own process (its user,
// environment, directory, capabilities, rlimits, no_new_privs) and the flags change it.
#include <spdlog/spdlog.h>

#include "config/host_paths.h"
#include "config/oci/oci_config.h"
#include "config/spec_json.h"
#include "core/policy/env_filter.h"
#include "core/policy/identity.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

void set_env(std::vector<std::string>& env, const std::string& entry) {
  std::string key = entry.substr(0, entry.find('='));
  for (std::string& e : env) {
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

// --user as `docker exec -u` takes it: a name or a number, its primary group and HOME from
// the image's /etc/passwd when it has an entry (else gid 0 and HOME=/), as `run --user`
// resolves it; a group given wins. Before --env, which may set HOME itself.
void set_user(ProcessSpec& p, const std::string& text, const ContainerRecord& r, const ContainerSpec& container) {
  UserSpec u = parse_user_spec(text, "--user");
  // The container's live root natively (a user added since it started counts); gVisor's
  // lives in its Sentry: the image's. Read with RESOLVE_IN_ROOT, and only a regular file.
  const std::optional<std::string> rootfs =
      r.backend == "native" && r.pid > 0 ? std::optional<std::string>("/proc/" + std::to_string(r.pid) + "/root")
      : container.root.path.empty()      ? std::nullopt
                                         : std::optional<std::string>(container.root.path);
  Identity id = resolve_identity(u, {}, read_container_file(rootfs, "etc/passwd"), read_container_file(rootfs, "etc/group"));
  p.uid = id.uid;
  p.gid = id.gid;
  set_env(p.env, "HOME=" + id.home);
}

ProcessSpec process_from_flags(const ExecFlags& f, const ContainerRecord& r, const ContainerSpec& container) {
  ProcessSpec p = container.process;
  p.args.assign(f.positionals.begin() + 1, f.positionals.end());
  p.terminal = f.tty;
  if (f.tty) set_env(p.env, "TERM=xterm");
  if (f.user) set_user(p, *f.user, r, container);
  for (const std::string& e : f.env) {
    if (e.find('=') == std::string::npos || e[0] == '=') throw Error("--env", "'" + e + "' is not KEY=VALUE");
    if (is_blocked_env_name(e.substr(0, e.find('=')))) {
      spdlog::warn("dropped {} from the workload's environment (loader variables never reach a workload)", e.substr(0, e.find('=')));
      continue;
    }
    set_env(p.env, e);
  }
  if (f.cwd) p.cwd = *f.cwd;
  for (const std::string& gid : f.groups) {
    try {
      p.additional_gids.push_back(static_cast<uint32_t>(std::stoul(gid)));
    } catch (const std::exception&) {
      throw Error("--additional-gids", "'" + gid + "' is not a gid");
    }
  }
  p.no_new_privileges = p.no_new_privileges || f.no_new_privs;
  for (const std::string& c : f.caps) {
    auto cap = capability_from_name(c);
    if (!cap) throw Error("--cap", "unknown capability '" + c + "'");
    CapSet bit = CapSet{1} << *cap;
    p.capabilities.bounding |= bit;
    p.capabilities.effective |= bit;
    p.capabilities.permitted |= bit;
  }
  return p;
}

}  // namespace

CLI::App* add_exec_command(CLI::App& app, Globals& g, ExecFlags& f, Action& action) {
  CLI::App* cmd = app.add_subcommand("exec", "Run a process in a running container");
  auto many = [](CLI::Option* o) { return o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); };
  cmd->add_option("-p,--process", f.process, "The process as OCI JSON (process.json)");
  cmd->add_flag("-t,--tty", f.tty, "Give it a pty (sent to --console-socket)");
  cmd->add_flag("-d,--detach", f.detach, "Return once it runs");
  cmd->add_option("--pid-file", f.pid_file, "Write its pid here");
  cmd->add_option("--console-socket", f.console_socket, "AF_UNIX socket to receive the pty master");
  cmd->add_option("--cwd", f.cwd, "Working directory");
  many(cmd->add_option("-e,--env", f.env, "KEY=VALUE (repeatable)"));
  cmd->add_option("-u,--user", f.user, "USER[:GROUP], names or ids (group and HOME from the image's passwd)");
  many(cmd->add_option("-g,--additional-gids", f.groups, "Supplementary gid (repeatable)"));
  many(cmd->add_option("-c,--cap", f.caps, "Capability to give it (repeatable)"));
  cmd->add_flag("--no-new-privs", f.no_new_privs, "Set no_new_privs");
  cmd->add_option("--preserve-fds", f.preserve_fds, "Pass fds 3 to 3+N-1 to the process (native)");
  cmd->callback([&f, &g, &action] {
    action = [&f, &g] {
      if (f.positionals.empty()) throw Error("exec", "no container id given");
      check_preserved_fds(f.preserve_fds);
      const std::string id = f.positionals.front();
      check_id(id);
      const std::string dir = g.root + "/" + id;
      ContainerRecord r = read_container(g.root, id);
      const ContainerSpec container = read_spec_file(dir);
      ProcessSpec p;
      if (f.process) {
        if (f.positionals.size() > 1) throw Error("exec", "give the command in --process or after the id, not both");
        p = parse_oci_process_text(sys::read_file(*f.process, 4u << 20, "read --process"), *f.process);
      } else {
        if (f.positionals.size() < 2) throw Error("exec", "no command given");
        p = process_from_flags(f, r, container);
      }
      ExecOptions options{f.pid_file ? absolute(*f.pid_file) : "", f.console_socket.value_or(""), f.detach, f.preserve_fds};
      return backend_of(r, dir)->exec(r, dir, container, p, options);
    };
  });
  return cmd;
}

}  // namespace nucleus::frontend
