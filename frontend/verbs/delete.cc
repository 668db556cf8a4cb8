// `nucleus delete [--force] ID`: removes a container and its record; a live one only with
// --force (killed first).
#include <signal.h>

#include "core/service/events.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_delete_command(CLI::App& app, Globals& g, Action& action) {
  auto force = std::make_shared<bool>(false);
  add_locked_verb(
      app, g, action, "delete", "Delete a container (a live one only with --force)",
      [force](CLI::App& cmd) { cmd.add_flag("-f,--force", *force, "Kill it first when it is still alive"); },
      [force, &g](Backend& b, LockedContainer& c) {
        // An OCI container's end is seen by no process of nucleus's: its `die` is recorded
        // when it is deleted, with its exit code when the record knows it.
        const ContainerRecord r = c.record();
        // (A held container's, `run`'s or a service's, is recorded by its holder.)
        std::string status = c.corrupted() || !r.persistent ? "" : b.status(r, c.path());
        b.remove(c, *force);
        if (status == "running" || status == "paused") {
          service::record_event(g.root, r.name, "die", service::die_attributes(128 + SIGKILL, false, "killed by delete --force"));
        } else if (status == "stopped") {
          service::record_event(g.root, r.name, "die",
                                r.exit_code ? service::die_attributes(*r.exit_code, r.oom_killed)
                                            : std::map<std::string, std::string>{{"reason", "exited"}});
        }
        return 0;
      },
      /*tolerate_corruption=*/true);
}

}  // namespace nucleus::frontend
