// `nucleus down -f FILE [SERVICE...]`: a stack's services stopped and removed, dependents
// first.
#include "frontend/cli.h"
#include "frontend/stack.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_down_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    std::string file;
    std::vector<std::string> services;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("down", "Stop and remove a stack's services");
  cmd->add_option("-f,--file", f->file, "Stack file (YAML)")->required();
  cmd->add_option("services", f->services, "Only these services");
  cmd->callback([f, &g, &action] {
    action = [f, &g] { return stack_down(g.root, absolute(f->file), f->services); };
  });
}

}  // namespace nucleus::frontend
