// `nucleus delete [--force] ID`: removes a container and its record; a live one only with
// --force (killed first).
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_delete_command(CLI::App& app, Globals& g, Action& action) {
  auto force = std::make_shared<bool>(false);
  add_locked_verb(
      app, g, action, "delete", "Delete a container (a live one only with --force)",
      [force](CLI::App& cmd) { cmd.add_flag("-f,--force", *force, "Kill it first when it is still alive"); },
      [force](Backend& b, LockedContainer& c) {
        b.remove(c, *force);
        return 0;
      },
      /*tolerate_corruption=*/true);
}

}  // namespace nucleus::frontend
