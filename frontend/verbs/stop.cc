// `nucleus stop [-t SECONDS] ID...`: a service stops and stays stopped (no restart).
#include "frontend/cli.h"
#include "frontend/service_launch.h"

namespace nucleus::frontend {

void add_stop_command(CLI::App& app, Globals& g, Action& action) {
  add_timed_service_verb(app, g, action, "stop", "Stop detached containers: SIGTERM, SIGKILL after -t seconds",
                         [](const std::string& root, const std::string& id, int seconds) { stop_service(root, id, seconds); });
}

}  // namespace nucleus::frontend
