// `nucleus pause ID` and `nucleus resume ID`: every process of the container frozen, thawed.
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_pause_commands(CLI::App& app, Globals& g, Action& action) {
  auto none = [](CLI::App&) {};
  add_locked_verb(app, g, action, "pause", "Freeze every process of a container", none, [](Backend& b, LockedContainer& c) {
    b.pause(c, true);
    return 0;
  });
  add_locked_verb(app, g, action, "resume", "Thaw a paused container", none, [](Backend& b, LockedContainer& c) {
    b.pause(c, false);
    return 0;
  });
}

}  // namespace nucleus::frontend
