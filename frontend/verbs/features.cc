// `nucleus features`: what this runtime supports (the OCI features document).
#include <iostream>

#include "config/oci/oci_config.h"
#include "frontend/cli.h"

namespace nucleus::frontend {

void add_features_command(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("features", "Print what this runtime supports (OCI features JSON)");
  cmd->callback([&action] {
    action = [] {
      std::cout << oci_features().dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
