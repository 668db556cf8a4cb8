// `nucleus ps [--format table|json] ID`: the container's processes, as the host sees them
// (runc's ps, which containerd's shim relies on).
#include <iostream>

#include <nlohmann/json.hpp>

#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_ps_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    std::string format = "table", id;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("ps", "List the processes of a container");
  cmd->add_option("-f,--format", f->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("id", f->id, "Container id or name")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      check_id(f->id);
      const std::string dir = g.root + "/" + f->id;
      ContainerRecord r = read_container(g.root, f->id);
      std::vector<pid_t> pids = backend_of(r, dir)->pids(r, dir);
      if (f->format == "json") {
        std::cout << nlohmann::json(pids).dump() << "\n";
        return 0;
      }
      std::cout << "PID\n";
      for (pid_t p : pids) std::cout << p << "\n";
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
