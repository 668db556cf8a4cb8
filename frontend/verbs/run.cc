// `nucleus run`: flags (+ YAML) -> THE container spec -> create + start + wait + delete,
// through the very methods the OCI verbs use (youki's and crun's run): the container has a
// record (its --name, or a generated id) that every verb reaches while it runs.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string_view>

#include "backends/backend.h"
#include "core/init/signals.h"
#include "config/resolve.h"
#include "core/sys/trace_timing.h"
#include "frontend/cli.h"
#include "frontend/named_options.h"
#include "frontend/overrides.h"
#include "frontend/service_launch.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

CLI::App* add_run_command(CLI::App& app, Globals& g, RunFlags& f, Action& action,
                          std::optional<std::span<const std::string>> words) {
  CLI::App* run = app.add_subcommand("run", "Run one workload in the foreground");
  run->footer(
      "Usage: nucleus run [OPTIONS] [--] COMMAND [ARG...]\n"
      "       nucleus run -f FILE [OPTIONS] WORKLOAD [-- COMMAND [ARG...]]\n"
      "       nucleus run [-b DIR] [-d] [--pid-file F] [--console-socket S] [--preserve-fds N] [--keep] ID\n"
      "Options end at the first word that is not an option; the rest is the workload's.\n"
      "The last form is runc's (an OCI bundle's container): any of -b/--bundle, -d/--detach, --pid-file,\n"
      "--console-socket, --preserve-fds, --keep, --no-pivot, --no-new-keyring, --no-subreaper before the\n"
      "first word selects it.");
  LazyOptions add(*run, words);
  add.option("-f,--file", f.file, "Workload file (YAML)");
  add.option("--backend", f.backend, "native or gvisor (overrides the isolation level's)");
  add.option("--isolation", f.isolation, "trusted, standard (default) or untrusted");
  add.option("--rootfs", f.rootfs, "Root filesystem directory (default: host read-only view)");
  add.flag("--read-only", f.read_only, "No writable layer over the rootfs");
  add.option("--layer-size", f.layer_size, "Size of the writable layer over the rootfs (default 1G)");
  add.option("-u,--user", f.user, "UID[:GID] inside the container");
  add.many("--group-add", f.groups, "Supplementary group (repeatable)");
  add.many("-e,--env", f.env, "KEY=VALUE (repeatable)");
  add.option("-w,--workdir", f.workdir, "Working directory inside");
  add.option("--hostname", f.hostname, "UTS hostname (default nucleus)");
  add.many("-v,--volume", f.volumes, "SRC:DST[:ro|rw] bind mount (repeatable)");
  add.many("--tmpfs", f.tmpfs, "DST[:SIZE] extra tmpfs (repeatable)");
  add.option("-m,--memory", f.memory, "Memory limit (K/M/G)");
  add.option("--cpus", f.cpus, "CPU limit (fractional)");
  add.option("--pids-limit", f.pids, "Process limit (default 1024; -1 unlimited)");
  add.option("--io-weight", f.io_weight, "Block I/O weight, 1 to 10000");
  add.many("--io-max", f.io_max, "MAJ:MIN rbps=N wbps=N riops=N wiops=N (repeatable)");
  add.option("--cgroup-parent", f.cgroup_parent, "Create the container's cgroup below this path");
  add.option("--network", f.network, "none (default), bridge or host");
  add.many("-p,--publish", f.publish, "[IP:]HOST:CONTAINER[/tcp|udp], or [IP::]CONTAINER for a free host port (bridge; repeatable)");
  add.many("--egress-allow", f.egress, "CIDR|NAME|*.NAME[:PORT]: all else is dropped (bridge; repeatable)");
  add.many("--dns", f.dns, "The DNS server the bridge's forwarder asks (repeatable; default: the host's)");
  add.many("--add-host", f.add_host, "NAME:IP (or NAME:host-gateway) in the container's /etc/hosts (repeatable; bridge)");
  add.option("--subnet", f.subnet, "The bridge's IPv4 subnet (default 10.231.0.0/16)");
  add.option("--subnet6", f.subnet6, "The bridge's IPv6 subnet (default fd6e:7563:6c65::/64)");
  add.many("--cap-add", f.cap_add, "Add a capability (repeatable)");
  add.many("--cap-drop", f.cap_drop, "Drop a capability or ALL (repeatable)");
  add.option("--seccomp", f.seccomp, "default, unconfined or FILE.json");
  add.option("--landlock", f.landlock, "on or off (native)");
  add.flag("--init", f.init, "PID-1 supervisor in front of the workload (default)");
  add.flag("--no-init", f.no_init, "Run the workload itself as PID 1");
  add.flag("--sd-notify", f.sd_notify, "Pass a validated NOTIFY_SOCKET to the workload");
  add.option("--timeout", f.timeout, "SIGTERM after SECONDS, SIGKILL 2 s later; exit 124");
  add.option("--name", f.name, "Container name, unique among containers (default: a generated id)");
  add.option("--gvisor-platform", f.gvisor_platform, "auto, ptrace, systrap or kvm (gVisor)");
  add_service_options(add, f.service);
  run->callback([&f, &g, &action] {
    action = [&f, &g] {
      // A signal from here on is kept for the container (its session reads it and passes
      // it on once the workload exists) rather than ending nucleus half-way through making
      // it (issue 13: ^C early in a start was lost or left things behind).
      sigset_t forwarded;
      init::forwarded_signal_set(&forwarded);
      ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
      std::unique_ptr<Backend> backend;
      std::unique_ptr<ContainerSession> container;
      {  // The request and its resolved spec go before the wait: the session keeps its own.
        WorkloadSpec request = make_spec(f);
        if (request.service.sdnotify == SdNotifyMode::kContainer) request.sd_notify = true;
        ContainerSpec spec = resolve_workload(request);
        if (request.service.detach) return run_detached(g.root, request, std::move(spec));
        timing::mark("workload spec built");
        backend = backend_for(spec.backend);
        CreateOptions options{.id = request.name.empty() ? generate_container_id() : request.name, .root = g.root, .foreground = true};
        container = backend->create(spec, options);
      }
      backend->start(container->record(), container.get());
      timespec started;  // its `start` event's time (the workload runs already)
      ::clock_gettime(CLOCK_REALTIME, &started);
      int code = backend->wait(*container);
      timing::mark("container ended");
      backend->remove(container->record(), /*force=*/true, container.get());
      leave_lifecycle_events(*container, g.root, &started, code);
      return code;
    };
  });
  return run;
}

}  // namespace nucleus::frontend
