#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/container/container_record.h"
#include "frontend/overrides.h"

// The command line: global flags and one file per verb (frontend/verbs/), each registering
// its flags and the action to run (crun src/run.c, runsc cmd/ shape). Verbs parse and
// delegate; they never print errors themselves (main.cc does, once).
namespace nucleus::frontend {

using Action = std::function<int()>;

// Returns nucleus's exit code; throws Error for bad input (exit 125).
int run_cli(int argc, char** argv);

// Where errors also go (runc's --log and --log-format): main.cc calls this once, with the
// line it prints.
void log_error_to_file(const std::string& message);

// The global flags (runc's, for the OCI verbs; --root for every verb).
struct Globals {
  std::string root = default_state_root();
  std::string log;
  bool systemd_cgroup = false;
  bool debug = false;
  bool gvisor_by_name = false;  // invoked as nucleus-gvisor
};

struct ExecFlags {
  std::optional<std::string> process, pid_file, console_socket, cwd, user;
  bool tty = false, detach = false, no_new_privs = false;
  unsigned preserve_fds = 0;
  std::vector<std::string> env, groups, caps;
  std::vector<std::string> positionals;  // ID [COMMAND ARG...]
};

// One per verb, frontend/verbs/<verb>.cc.
// `words`: the command line after `run`, whose option families are registered only when it
// names one of them; unset (help for every verb): all of them.
CLI::App* add_run_command(CLI::App& app, Globals& g, RunFlags& flags, Action& action,
                          std::optional<std::span<const std::string>> words);
// runc's `run ID` (verbs/run_bundle.cc), and the flags only that form has: one of them before
// the first word that is not an option makes `nucleus run` this form.
void add_run_bundle_command(CLI::App& app, Globals& g, Action& action);
const std::vector<std::string>& runc_run_flags();
void add_create_command(CLI::App& app, Globals& g, Action& action);
void add_start_command(CLI::App& app, Globals& g, Action& action);
void add_state_command(CLI::App& app, Globals& g, Action& action);
void add_kill_command(CLI::App& app, Globals& g, Action& action);
void add_delete_command(CLI::App& app, Globals& g, Action& action);
void add_list_command(CLI::App& app, Globals& g, Action& action);
void add_ps_command(CLI::App& app, Globals& g, Action& action);
void add_pause_commands(CLI::App& app, Globals& g, Action& action);
// `command`: what follows `--` on the command line (`sandbox exec ID -- COMMAND...`).
void add_sandbox_command(CLI::App& app, Globals& g, Action& action, const std::vector<std::string>& command);
void add_update_command(CLI::App& app, Globals& g, Action& action);
CLI::App* add_exec_command(CLI::App& app, Globals& g, ExecFlags& flags, Action& action);
void add_stats_command(CLI::App& app, Globals& g, Action& action);
void add_spec_command(CLI::App& app, Action& action);
void add_features_command(CLI::App& app, Action& action);
void add_check_command(CLI::App& app, Action& action);
void add_version_command(CLI::App& app, Action& action);
void add_internal_cleanup_command(CLI::App& app, Action& action);
void add_internal_pod_wait_command(CLI::App& app, Action& action);
// Detached containers (services): frontend/verbs/{logs,stop,restart,rm,inspect,events}.cc.
void add_logs_command(CLI::App& app, Globals& g, Action& action);
void add_stop_command(CLI::App& app, Globals& g, Action& action);
void add_restart_command(CLI::App& app, Globals& g, Action& action);
void add_rm_command(CLI::App& app, Globals& g, Action& action);
void add_inspect_command(CLI::App& app, Globals& g, Action& action);
void add_events_command(CLI::App& app, Globals& g, Action& action);
// A stack: frontend/verbs/{up,down}.cc.
void add_up_command(CLI::App& app, Globals& g, Action& action);
void add_down_command(CLI::App& app, Globals& g, Action& action);

}  // namespace nucleus::frontend
