// `nucleus create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID`: an OCI bundle's
// container, made and left waiting for `start`; it outlives this process.
#include "backends/backend.h"
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_create_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    std::string bundle = ".", pid_file, console_socket, id;
    bool no_pivot = false, no_new_keyring = false;
    unsigned preserve_fds = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("create", "Create a container from an OCI bundle (stopped before its exec)");
  cmd->add_option("-b,--bundle", f->bundle, "Bundle directory (default: the current one)");
  cmd->add_option("--pid-file", f->pid_file, "Write the container's init pid here");
  cmd->add_option("--console-socket", f->console_socket, "AF_UNIX socket to receive the pty master");
  cmd->add_flag("--no-pivot", f->no_pivot, "Refused: nucleus always uses pivot_root");
  cmd->add_flag("--no-new-keyring", f->no_new_keyring, "Accepted: nucleus never creates a session keyring");
  cmd->add_option("--preserve-fds", f->preserve_fds, "Pass fds 3 to 3+N-1 to the container's process (native)");
  cmd->add_option("id", f->id, "Container id")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      if (f->no_pivot) throw Error("--no-pivot", "nucleus always pivots into the root (a chroot can be escaped)");
      check_preserved_fds(f->preserve_fds);
      check_id(f->id);
      ContainerSpec spec = load_bundle(g, f->bundle);
      CreateOptions options{.id = f->id, .root = g.root, .foreground = false,
                            .pid_file = f->pid_file.empty() ? "" : absolute(f->pid_file), .console_socket = f->console_socket,
                            .preserve_fds = f->preserve_fds};
      std::unique_ptr<ContainerSession> session = backend_for(spec.backend)->create(spec, options);
      leave_lifecycle_events(*session, g.root, nullptr, std::nullopt);
      session->detach();
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
