// Subcommands for nucleus's own use and for users watching containers: `stats NAME`, and the
// hidden `internal-cleanup`, which the cleanup keeper (core/keeper.h) execs when the nucleus
// that forked it died without cleaning up.
#include <sys/prctl.h>

#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backends/gvisor/runsc/runsc_locate.h"
#include "backends/gvisor/state_dir.h"
#include "config/units.h"
#include "config/validate.h"
#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"
#include "core/sys/error.h"
#include "frontend/cli.h"

namespace nucleus::frontend {
namespace {

struct CleanupArgs {
  std::string gvisor_state;
  std::vector<std::string> cgroups;
  std::string record;
};

// Only what a nucleus creates is touched: nucleus-* cgroups under /sys/fs/cgroup, gVisor state
// under /run/nucleus-gvisor-*, records under /run/nucleus.
bool is_nucleus_cgroup(const std::string& dir) {
  size_t slash = dir.find_last_of('/');
  return dir.rfind("/sys/fs/cgroup/", 0) == 0 && dir.find("/../") == std::string::npos &&
         dir.compare(slash + 1, 8, "nucleus-") == 0;
}

int cleanup(const CleanupArgs& a) {
  // Exec'd as /proc/self/exe, whose name says nothing: ps and the tests should see what it is.
  ::prctl(PR_SET_NAME, "nucleus-cleanup", 0, 0, 0);
  if (!a.gvisor_state.empty()) {
    try {
      gvisor::collect_state_dir(gvisor::locate_runsc(), a.gvisor_state);
    } catch (const Error&) {
    }
  }
  for (const std::string& dir : a.cgroups) {
    if (is_nucleus_cgroup(dir)) cgroupfs::kill_and_remove(cgroupfs::real(), dir);
  }
  if (!a.record.empty() && a.record.rfind(std::string(kStateRoot) + "/", 0) == 0 &&
      a.record.find("/..") == std::string::npos) {
    remove_stale_record(a.record);
  }
  return 0;
}

std::string size_or_dash(const std::optional<uint64_t>& v) { return v ? format_size(*v) : "-"; }

int stats(const std::string& name, const std::string& format) {
  if (auto problem = check_container_name(name)) throw Error(name, *problem);
  ContainerRecord r = read_running_container(kStateRoot, name);
  CgroupStats s = read_cgroup_stats(r.cgroup);
  if (format == "json") {
    nlohmann::json j = {{"name", r.name}, {"backend", r.backend}, {"status", r.status}, {"cpu_usec", s.cpu_usec}};
    auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    j["memory"] = {{"current", opt(s.memory_current)}, {"peak", opt(s.memory_peak)}, {"limit", opt(s.memory_limit)}};
    j["pids"] = {{"current", opt(s.pids_current)},
                 {"limit", s.pids_limit && *s.pids_limit >= 0 ? nlohmann::json(*s.pids_limit) : nlohmann::json(nullptr)}};
    j["cpu_throttled"] = opt(s.cpu_throttled);
    j["oom_kills"] = s.oom_kills;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::ostringstream cpu;
  cpu << s.cpu_usec / 1000000 << "." << std::to_string(1000000 + s.cpu_usec % 1000000).substr(1, 3) << "s";
  std::cout << "NAME     " << r.name << "\n"
            << "BACKEND  " << r.backend << "\n"
            << "STATUS   " << r.status << "\n"
            << "CPU      " << cpu.str()
            << (s.cpu_throttled ? " (throttled " + std::to_string(*s.cpu_throttled) + " times)" : "") << "\n"
            << "MEMORY   " << size_or_dash(s.memory_current) << " (peak " << size_or_dash(s.memory_peak) << ", limit "
            << (s.memory_limit ? format_size(*s.memory_limit) : "none") << ")\n"
            << "PIDS     " << (s.pids_current ? std::to_string(*s.pids_current) : "-") << " (limit "
            << (s.pids_limit && *s.pids_limit >= 0 ? std::to_string(*s.pids_limit) : "none") << ")\n";
  return 0;
}

}  // namespace

CLI::App* add_stats_command(CLI::App& app, Action& action) {
  auto name = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand("stats", "Show a running container's CPU time, memory and pids");
  cmd->add_option("name", *name, "Container name (run --name)")->required();
  cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([name, format, &action] { action = [name, format] { return stats(*name, *format); }; });
  return cmd;
}

CLI::App* add_internal_cleanup_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<CleanupArgs>();
  CLI::App* cmd = app.add_subcommand("internal-cleanup", "");
  cmd->group("");  // not for users: the cleanup keeper's
  cmd->add_option("--gvisor-state", args->gvisor_state);
  cmd->add_option("--cgroup", args->cgroups);
  cmd->add_option("--record", args->record);
  cmd->callback([args, &action] { action = [args] { return cleanup(*args); }; });
  return cmd;
}

}  // namespace nucleus::frontend
