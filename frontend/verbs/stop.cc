// `nucleus stop [-t SECONDS] ID...`: a service stops and stays stopped (no restart).
#include <iostream>

#include "frontend/cli.h"
#include "frontend/service_launch.h"

namespace nucleus::frontend {

void add_stop_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    int seconds = 10;
    std::vector<std::string> ids;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("stop", "Stop detached containers: SIGTERM, SIGKILL after -t seconds");
  cmd->add_option("-t,--time", f->seconds, "Seconds to wait before SIGKILL (default 10)")->check(CLI::NonNegativeNumber);
  cmd->add_option("ids", f->ids, "Service names or ids")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      for (const std::string& id : f->ids) {
        stop_service(g.root, id, f->seconds);
        std::cout << id << "\n";
      }
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
