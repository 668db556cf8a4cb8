// runc's `run`: `nucleus run [--bundle DIR] [--detach] [--pid-file F] [--console-socket S]
// [--preserve-fds N] [--keep] ID`, an OCI bundle's container created, started and (unless
// --detach) waited for and deleted, through the Backend methods `nucleus run -- CMD` uses.
// cli.cc picks this form when a flag only it has comes before the first word (kRuncRunFlags).
#include "backends/backend.h"
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

// The container ended and stays, as runc's --keep leaves it: an OCI container (no owner, so
// no collector takes it) whose record says stopped, its empty cgroup kept for `delete`.
void keep_ended_container(ContainerSession& container) {
  LockedContainer& record = container.record();
  record.relock();
  record.record().persistent = true;
  record.record().status = "stopped";
  record.save();
  container.detach();
}

}  // namespace

const std::vector<std::string>& runc_run_flags() {
  static const std::vector<std::string> flags = {"-b",       "--bundle",         "-d",         "--detach", "--pid-file",
                                                 "--console-socket", "--preserve-fds", "--keep", "--no-pivot",
                                                 "--no-new-keyring", "--no-subreaper"};
  return flags;
}

void add_run_bundle_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags : BundleFlags {
    bool detach = false, keep = false, no_subreaper = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("run", "Create, start and wait for an OCI bundle's container (runc's run)");
  add_bundle_flags(*cmd, *f);
  cmd->add_flag("-d,--detach", f->detach, "Return once it runs; it outlives this command (delete removes it)");
  cmd->add_flag("--keep", f->keep, "Keep the ended container until delete");
  cmd->add_flag("--no-subreaper", f->no_subreaper, "Accepted: nucleus waits for the container's own process");
  cmd->add_option("id", f->id, "Container id")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      if (f->detach && f->keep) throw Error("--keep", "a detached container stays until delete anyway");
      BundleCreate made = prepare_bundle_create(g, *f, /*foreground=*/!f->detach);
      std::unique_ptr<Backend> backend = backend_for(made.spec.backend);
      std::unique_ptr<ContainerSession> container = backend->create(made.spec, made.options);
      if (f->detach) {
        // As `create` then `start`: a failed start still removes everything (the session).
        backend->start(container->record());
        timespec started;
        ::clock_gettime(CLOCK_REALTIME, &started);
        leave_lifecycle_events(*container, g.root, &started, std::nullopt);
        container->detach();
        return 0;
      }
      backend->start(container->record(), container.get());
      timespec started;  // its `start` event's time (the workload runs already)
      ::clock_gettime(CLOCK_REALTIME, &started);
      int code = backend->wait(*container);
      if (f->keep) {
        keep_ended_container(*container);
      } else {
        backend->remove(container->record(), /*force=*/true, container.get());
      }
      leave_lifecycle_events(*container, g.root, &started, code);
      return code;
    };
  });
}

}  // namespace nucleus::frontend
