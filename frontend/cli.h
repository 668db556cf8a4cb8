#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "frontend/overrides.h"

// The command line: global flags and one file per subcommand, each registering its flags
// and the action to run (crun src/run.c, runsc cmd/ shape). Subcommands parse and
// delegate; they never print errors themselves (main.cc does, once).
namespace nucleus::frontend {

using Action = std::function<int()>;

// Returns nucleus's exit code; throws Error for bad input (exit 125).
int run_cli(int argc, char** argv);

CLI::App* add_run_command(CLI::App& app, RunFlags& flags, Action& action);
CLI::App* add_check_command(CLI::App& app, Action& action);
CLI::App* add_version_command(CLI::App& app, Action& action);
CLI::App* add_stats_command(CLI::App& app, Action& action);
CLI::App* add_internal_cleanup_command(CLI::App& app, Action& action);

}  // namespace nucleus::frontend
