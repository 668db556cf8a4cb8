// `nucleus start ID`: lets a created container's workload run.
#include "core/service/events.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_start_command(CLI::App& app, Globals& g, Action& action) {
  add_locked_verb(app, g, action, "start", "Start a created container", [](CLI::App&) {}, [&g](Backend& b, LockedContainer& c) {
    b.start(c);
    service::record_event(g.root, c.record().name, "start");  // the workload runs already
    return 0;
  });
}

}  // namespace nucleus::frontend
