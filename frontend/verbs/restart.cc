// `nucleus restart [-t SECONDS] ID...`: stop (if running), then a new monitor from the
// service's record; its secrets are read again from their files.
#include "frontend/cli.h"
#include "frontend/service_launch.h"

namespace nucleus::frontend {

void add_restart_command(CLI::App& app, Globals& g, Action& action) {
  add_timed_service_verb(app, g, action, "restart", "Restart detached containers",
                         [](const std::string& root, const std::string& id, int seconds) {
                           stop_service(root, id, seconds);
                           relaunch_service(root, id);
                         });
}

}  // namespace nucleus::frontend
