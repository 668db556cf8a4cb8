#include "frontend/cli.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/sys/error.h"
#include "core/sys/log.h"
#include "core/sys/rfc3339.h"
#include "core/sys/sys.h"
#include "core/sys/trace_timing.h"
#include "core/sys/unique_fd.h"

#include <fcntl.h>
#include <nlohmann/json.hpp>

namespace nucleus::frontend {
namespace {

// Where the options of `app` end in args[start..]: at "--" or at the first word that is
// not an option or an option's value (docker's interspersed=false). Everything from there
// belongs to the workload, flags included. An unknown flag is an error here, so that a
// typo never becomes the command.
size_t options_end(const CLI::App& app, const std::vector<std::string>& args, size_t start) {
  for (size_t i = start; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--" || arg.size() < 2 || arg[0] != '-') return i;
    bool is_long = arg[1] == '-';
    std::string name = is_long ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
    bool value_attached = is_long ? arg.find('=') != std::string::npos : arg.size() > 2;
    const CLI::Option* opt = app.get_option_no_throw(name);
    if (opt == nullptr) throw Error(name, "unknown flag");
    if (opt->get_expected_min() > 0 && !value_attached) ++i;
  }
  return args.size();
}

// Whether `run`'s options (args[start..], up to the first word that is not an option or "--")
// include one that only runc's form has (--bundle, --detach, ...). The flags form's options
// are skipped with their values, so a value is never taken for a flag.
//
// -d/--detach belongs to both forms (runc's `run -d ID`, docker's `run -d COMMAND`, a
// service: docs/services.md): with it and nothing else of either form, runc's is one
// positional word that cannot be a command path (an id has no '/'); `--`, an option of the
// flags form, or a command with arguments make it the flags form.
bool is_runc_run(const CLI::App& flags_form, const std::vector<std::string>& args, size_t start) {
  const std::vector<std::string>& runc = runc_run_flags();
  bool detach = false;
  for (size_t i = start; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") return false;
    if (arg.size() < 2 || arg[0] != '-') return detach && i + 1 == args.size() && arg.find('/') == std::string::npos;
    bool is_long = arg[1] == '-';
    std::string name = is_long ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
    if (name == "-d" || name == "--detach") {
      detach = true;
      continue;
    }
    if (std::find(runc.begin(), runc.end(), name) != runc.end()) return true;
    const CLI::Option* opt = flags_form.get_option_no_throw(name);
    if (opt == nullptr) return false;  // an unknown flag: the flags form says so
    return false;                      // an option of the flags form only
  }
  return detach;
}

struct ErrorLog {
  std::string path;
  bool json = false;
};
ErrorLog& error_log() {
  static ErrorLog log;
  return log;
}

}  // namespace

void log_error_to_file(const std::string& message) {
  const ErrorLog& log = error_log();
  if (log.path.empty()) return;
  std::string line;
  if (log.json) {
    line = nlohmann::json{{"level", "error"}, {"msg", message}, {"time", rfc3339_now()}}.dump() + "\n";
  } else {
    line = "nucleus: " + message + "\n";
  }
  UniqueFd fd(::open(log.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (fd) (void)sys::write_all(fd.get(), line.data(), line.size());
}

int run_cli(int argc, char** argv) {
  // On the heap, and dropped once a foreground container has idled (sys::drop_at_idle):
  // the parser with its option tables and help texts is start-up's alone, and a monitor
  // would otherwise hold a hundred KiB of it for the container's whole life.
  auto parser = std::make_unique<CLI::App>("nucleus: one container runtime, native and gVisor isolation", "nucleus");
  CLI::App& app = *parser;
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("nucleus version ") + NUCLEUS_VERSION);
  std::string log_level = "warning";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warning, error or off");
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  Globals g;
  app.add_option("--root", g.root, "State directory: one record per container (default /run/nucleus; rootless: $XDG_RUNTIME_DIR/nucleus)");
  app.add_option("--log", g.log, "Also write errors to this file (OCI verbs; runc's flag)");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "cgroupsPath is slice:prefix:name (cgroupfs is used)");
  std::string cgroup_manager = "cgroupfs";
  app.add_option("--cgroup-manager", cgroup_manager, "crun's: cgroupfs (default) or systemd (as --systemd-cgroup)")
      ->check(CLI::IsMember({"cgroupfs", "systemd", "disabled"}));
  app.add_flag("--debug", g.debug, "Debug logging (as --log-level debug)");
  std::string self = argv[0];
  g.gvisor_by_name = self.substr(self.find_last_of('/') + 1) == "nucleus-gvisor";
  ExecFlags exec_flags;

  Action action;
  RunFlags run_flags;
  std::vector<std::string> sandbox_command;
  CLI::App* run = nullptr;
  CLI::App* exec = nullptr;
  // One registration per verb (frontend/verbs/). Building a verb's parser costs tens of
  // microseconds: every start pays for the verb it runs only, unless help is asked.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::span<const std::string>> run_words;  // what follows `run`; unset: --help lists all
  const std::vector<std::pair<const char*, std::function<void()>>> verbs = {
      {"run", [&] { run = add_run_command(app, g, run_flags, action, run_words); }},
      {"exec", [&] { exec = add_exec_command(app, g, exec_flags, action); }},
      {"create", [&] { add_create_command(app, g, action); }},
      {"start", [&] { add_start_command(app, g, action); }},
      {"state", [&] { add_state_command(app, g, action); }},
      {"kill", [&] { add_kill_command(app, g, action); }},
      {"delete", [&] { add_delete_command(app, g, action); }},
      {"list", [&] { add_list_command(app, g, action); }},
      {"ps", [&] { add_ps_command(app, g, action); }},
      {"pause", [&] { add_pause_commands(app, g, action); }},
      {"resume", [] {}},  // with pause
      {"update", [&] { add_update_command(app, g, action); }},
      {"stats", [&] { add_stats_command(app, g, action); }},
      {"spec", [&] { add_spec_command(app, action); }},
      {"features", [&] { add_features_command(app, action); }},
      {"check", [&] { add_check_command(app, action); }},
      {"version", [&] { add_version_command(app, action); }},
      {"internal-cleanup", [&] { add_internal_cleanup_command(app, action); }},
      {"internal-pod-wait", [&] { add_internal_pod_wait_command(app, action); }},
      {"logs", [&] { add_logs_command(app, g, action); }},
      {"stop", [&] { add_stop_command(app, g, action); }},
      {"restart", [&] { add_restart_command(app, g, action); }},
      {"rm", [&] { add_rm_command(app, g, action); }},
      {"inspect", [&] { add_inspect_command(app, g, action); }},
      {"events", [&] { add_events_command(app, g, action); }},
      {"up", [&] { add_up_command(app, g, action); }},
      {"down", [&] { add_down_command(app, g, action); }},
      {"sandbox", [&] { add_sandbox_command(app, g, action, sandbox_command); }},
  };

  std::vector<std::string> workload_args;
  size_t sub = options_end(app, args, 0);
  bool asked_for_help = std::find_if(args.begin(), args.begin() + static_cast<long>(std::min(sub, args.size())),
                                     [](const std::string& a) { return a == "-h" || a == "--help"; }) !=
                        args.begin() + static_cast<long>(std::min(sub, args.size()));
  auto named = std::find_if(verbs.begin(), verbs.end(), [&](const auto& v) { return sub < args.size() && args[sub] == v.first; });
  bool runc_run = false;
  if (named != verbs.end() && !asked_for_help) {
    run_words = std::span<const std::string>(args).subspan(sub + 1);
    (named->first == std::string("resume") ? verbs[9].second : named->second)();
    if (run != nullptr && is_runc_run(*run, args, sub + 1)) {
      app.remove_subcommand(run);
      run = nullptr;
      add_run_bundle_command(app, g, action);
      runc_run = true;
    }
  } else {
    for (const auto& v : verbs) v.second();
  }
  if (sub < args.size()) {
    auto known = app.get_subcommands([&](const CLI::App* c) { return c->get_name() == args[sub]; });
    if (known.empty()) throw Error(args[sub], "unknown command (try: nucleus --help)");
  }
  if (sub < args.size() && ((args[sub] == "run" && !runc_run) || args[sub] == "exec")) {
    // Everything from the first word that is not an option belongs to the workload (run:
    // COMMAND...; exec: ID COMMAND...).
    CLI::App* cmd = args[sub] == "run" ? run : exec;
    size_t end = options_end(*cmd, args, sub + 1);
    workload_args.assign(args.begin() + static_cast<long>(end), args.end());
    if (!workload_args.empty() && workload_args.front() == "--") workload_args.erase(workload_args.begin());
    args.resize(end);
  }

  if (sub < args.size() && args[sub] == "sandbox") {
    auto dash = std::find(args.begin() + static_cast<long>(sub), args.end(), "--");
    if (dash != args.end()) {
      sandbox_command.assign(dash + 1, args.end());
      args.erase(dash, args.end());
    }
  }

  std::vector<const char*> cargv = {argv[0]};
  for (const std::string& a : args) cargv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(cargv.size()), cargv.data());
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    for (char& c : message) if (c == '\n') c = ' ';
    throw Error("command line", message);
  }
  exec_flags.positionals = workload_args;
  run_flags.positionals = std::move(workload_args);
  if (g.debug) log_level = "debug";
  if (cgroup_manager == "systemd") g.systemd_cgroup = true;
  if (cgroup_manager == "disabled") {
    throw Error("--cgroup-manager", "disabled: nucleus gives every container a cgroup (ps, stats, kill --all and delete rely on it)");
  }
  error_log() = {g.log, log_format == "json"};
  log::init(log_level, log_format == "json" ? log::Format::kJson : log::Format::kText);
  timing::mark("command line parsed");
  // What a verb's action uses of the command line lives in the flags above, not the parser.
  struct DropRegistration {
    explicit DropRegistration(std::unique_ptr<CLI::App>& p) { sys::drop_at_idle([&p] { p.reset(); }); }
    ~DropRegistration() { sys::drop_at_idle(nullptr); }
  } drop(parser);
  return action();
}

}  // namespace nucleus::frontend
