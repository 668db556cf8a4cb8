// `nucleus state ID`: the container's OCI state (JSON).
#include <iostream>

#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_state_command(CLI::App& app, Globals& g, Action& action) {
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("state", "Print a container's OCI state (JSON)");
  cmd->add_option("id", *id, "Container id or name")->required();
  cmd->callback([id, &g, &action] {
    action = [id, &g] {
      check_id(*id);
      const std::string dir = g.root + "/" + *id;
      ContainerRecord r = read_container(g.root, *id);
      std::cout << oci_state_json(r, backend_of(r, dir)->status(r, dir));
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
