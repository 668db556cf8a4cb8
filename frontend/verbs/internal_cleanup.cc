// The hidden `internal-cleanup`, which the cleanup keeper (core/container/keeper.h) execs
// when the nucleus that forked it died without cleaning up: what that nucleus held is
// deleted as `delete --force` deletes a container (its backend's state, its cgroup, its
// record), after the cgroups the keeper was told of (made before the record named them).
#include <sys/prctl.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"
#include "core/service/events.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"
#include "config/spec_json.h"
#include "network/client/container_network.h"
#include "network/client/user_mode.h"

namespace nucleus::frontend {
namespace {

struct CleanupArgs {
  std::vector<std::string> cgroups;
  std::string record;
};

// Only what a nucleus creates is touched: nucleus-* cgroups under /sys/fs/cgroup, and a
// record whose owner is gone.
bool is_nucleus_cgroup(const std::string& dir) {
  size_t slash = dir.find_last_of('/');
  return dir.rfind("/sys/fs/cgroup/", 0) == 0 && dir.find("/../") == std::string::npos &&
         dir.compare(slash + 1, 8, "nucleus-") == 0;
}

// A service's run ends here when its monitor was killed: the monitor could neither say so
// nor remove its own cgroup (docs/services.md).
void after_dead_monitor(const std::string& root, const std::string& id) {
  const std::string dir = service::service_dir(root, id);
  if (!std::filesystem::exists(dir + "/state.json")) return;
  // The monitor's last threads may still be exiting (the run's death signal comes from the
  // thread that forked it): its lock and cgroup go with the last one.
  for (int i = 0; i < 100 && service::monitor_alive(dir); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (service::monitor_alive(dir)) return;  // a new monitor (restart) owns the service now
  try {
    // As the monitor last wrote it: a service it was running (not a stopped service whose id
    // a foreground container took meanwhile).
    std::string status = service::state_from_json(sys::read_file(dir + "/state.json", 1u << 20, "read")).status;
    if (status != "starting" && status != "running" && status != "restarting") return;
  } catch (const Error&) {
    return;
  }
  service::record_event(root, id, "die", {{"reason", "monitor died"}, {"oom", "false"}});
  service::remove_dead_monitor_cgroup(dir, std::chrono::seconds(2));
}

int cleanup(const CleanupArgs& a) {
  // Exec'd as /proc/self/exe, whose name says nothing: ps and the tests should see what it is.
  ::prctl(PR_SET_NAME, "nucleus-cleanup", 0, 0, 0);
  for (const std::string& dir : a.cgroups) {
    if (!is_nucleus_cgroup(dir)) continue;
    cgroupfs::kill_and_remove(cgroupfs::real(), dir);
    cgroupfs::remove_made_parents(cgroupfs::real(), dir);
  }
  size_t slash = a.record.find_last_of('/');
  if (slash == std::string::npos || slash == 0 || a.record.find("/..") != std::string::npos) return 0;
  try {
    if (!record_is_stale(a.record)) return 0;
    const std::string root = a.record.substr(0, slash), id = a.record.substr(slash + 1);
    LockedContainer c(root, id, /*tolerate_corruption=*/true);
    NetworkMode network = NetworkMode::kNone;
    try {
      network = read_spec_file(c.path()).network;
    } catch (const Error&) {
    }
    backend_of(c.record(), c.path())->remove(c, /*force=*/true);
    // Its nucleus-netd tears the network down when nucleus's end of their socket closes; if
    // it was killed too, this does (idempotent).
    if (network == NetworkMode::kBridge) net::cleanup_container_network(id, net::network_state_dir(root));
    // pasta quits with the namespace's last process; a recorded one still running is stopped.
    if (network == NetworkMode::kPasta) net::cleanup_user_mode_network(id, net::network_state_dir(root));
    after_dead_monitor(root, id);
  } catch (const Error&) {
    remove_stale_record(a.record);
  }
  return 0;
}

}  // namespace

void add_internal_cleanup_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<CleanupArgs>();
  CLI::App* cmd = app.add_subcommand("internal-cleanup", "");
  cmd->group("");  // not for users: the cleanup keeper's
  cmd->add_option("--cgroup", args->cgroups);
  cmd->add_option("--record", args->record);
  cmd->callback([args, &action] { action = [args] { return cleanup(*args); }; });
}

}  // namespace nucleus::frontend
