// `nucleus kill [--all] ID [SIGNAL]`: a signal to the container's init (or every process).
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_kill_command(CLI::App& app, Globals& g, Action& action) {
  auto all = std::make_shared<bool>(false);
  auto signal = std::make_shared<std::string>("TERM");
  add_locked_verb(
      app, g, action, "kill", "Send a signal to a container (default TERM)",
      [all, signal](CLI::App& cmd) {
        cmd.add_flag("-a,--all", *all, "Every process of the container");
        cmd.add_option("signal", *signal, "Name or number")->capture_default_str();
      },
      [all, signal](Backend& b, LockedContainer& c) {
        auto sig = parse_signal(*signal);
        if (!sig) throw Error("kill", "unknown signal '" + *signal + "'");
        b.kill(c, *sig, *all);
        return 0;
      });
}

}  // namespace nucleus::frontend
