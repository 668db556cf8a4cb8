// `nucleus create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID`: an OCI bundle's
// container, made and left waiting for `start`; it outlives this process.
#include "backends/backend.h"
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_create_command(CLI::App& app, Globals& g, Action& action) {
  auto f = std::make_shared<BundleFlags>();
  CLI::App* cmd = app.add_subcommand("create", "Create a container from an OCI bundle (stopped before its exec)");
  add_bundle_flags(*cmd, *f);
  cmd->add_option("id", f->id, "Container id")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      BundleCreate made = prepare_bundle_create(g, *f, /*foreground=*/false);
      std::unique_ptr<ContainerSession> session = backend_for(made.spec.backend)->create(made.spec, made.options);
      leave_lifecycle_events(*session, g.root, nullptr, std::nullopt);
      session->detach();
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
