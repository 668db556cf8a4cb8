// `nucleus version`.
#include <iostream>

#include "frontend/cli.h"

namespace nucleus::frontend {

void add_version_command(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("version", "Print nucleus's version");
  cmd->callback([&action] {
    action = [] {
      std::cout << "nucleus version " << NUCLEUS_VERSION << "\n";
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
