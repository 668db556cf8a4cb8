// The hidden `internal-pod-wait`: the process a gVisor pod member's pid file names, which
// the runc shim watches (backends/gvisor/gvisor_pod.h). Started by `create` with the
// member's start fifo on fd 3; exits with the container's exit status.
#include "backends/gvisor/gvisor_pod.h"
#include "frontend/cli.h"

namespace nucleus::frontend {

void add_internal_pod_wait_command(CLI::App& app, Action& action) {
  struct Args {
    std::string runsc, runsc_root, id;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("internal-pod-wait", "");
  cmd->group("");  // not for users: gVisor pod members' waiter
  cmd->add_option("--runsc", args->runsc)->required();
  cmd->add_option("--runsc-root", args->runsc_root)->required();
  cmd->add_option("id", args->id)->required();
  cmd->callback([args, &action] {
    action = [args] { return gvisor::pod_waiter_main(args->runsc, args->runsc_root, args->id); };
  });
}

}  // namespace nucleus::frontend
