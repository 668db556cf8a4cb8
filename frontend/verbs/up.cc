// `nucleus up -f FILE [SERVICE...]`: a stack's services started, dependencies first
// (frontend/stack.h); running again leaves an unchanged running service alone.
#include "frontend/cli.h"
#include "frontend/stack.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_up_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    std::string file;
    std::vector<std::string> services;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("up", "Start a stack's services (YAML services:)");
  cmd->add_option("-f,--file", f->file, "Stack file (YAML)")->required();
  cmd->add_option("services", f->services, "Only these services (and what they depend on)");
  cmd->callback([f, &g, &action] {
    action = [f, &g] { return stack_up(g.root, absolute(f->file), f->services); };
  });
}

}  // namespace nucleus::frontend
