#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "frontend/overrides.h"

// The command line: global flags and one file per subcommand, each registering its flags
// and the action to run (crun src/run.c, runsc cmd/ shape). Subcommands parse and
// delegate; they never print errors themselves (main.cc does, once).
namespace nucleus::frontend {

using Action = std::function<int()>;

// Returns nucleus's exit code; throws Error for bad input (exit 125).
int run_cli(int argc, char** argv);

// Where errors also go (runc's --log and --log-format): main.cc calls this once, with the
// line it prints.
void log_error_to_file(const std::string& message);

// The OCI verbs' global flags (runc's).
struct OciGlobals {
  std::string root = "/run/nucleus";
  std::string log;
  bool systemd_cgroup = false;
  bool debug = false;
  bool gvisor_by_name = false;  // invoked as nucleus-gvisor
};

struct ExecFlags {
  std::optional<std::string> process, pid_file, console_socket, cwd, user;
  bool tty = false, detach = false, no_new_privs = false;
  std::vector<std::string> env, groups, caps;
  std::vector<std::string> positionals;  // ID [COMMAND ARG...]
};

void add_oci_commands(CLI::App& app, OciGlobals& globals, ExecFlags& exec, Action& action);

CLI::App* add_run_command(CLI::App& app, RunFlags& flags, Action& action);
CLI::App* add_check_command(CLI::App& app, Action& action);
CLI::App* add_version_command(CLI::App& app, Action& action);
CLI::App* add_stats_command(CLI::App& app, Action& action);
CLI::App* add_internal_cleanup_command(CLI::App& app, Action& action);

}  // namespace nucleus::frontend
