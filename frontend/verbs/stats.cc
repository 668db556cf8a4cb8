// `nucleus stats [--format text|json] ID`: a container's CPU time, memory and tasks, read from
// its cgroup.
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"
#include "core/sys/error.h"
#include "core/sys/units.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

std::string size_or_dash(const std::optional<uint64_t>& v) { return v ? format_size(*v) : "-"; }

int stats(const std::string& root, const std::string& name, const std::string& format) {
  check_id(name);
  ContainerRecord r = read_container(root, name);
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

void add_stats_command(CLI::App& app, Globals& g, Action& action) {
  auto name = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand("stats", "Show a container's CPU time, memory and pids");
  cmd->add_option("id", *name, "Container id or name")->required();
  cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([name, format, &g, &action] { action = [name, format, &g] { return stats(g.root, *name, *format); }; });
}

}  // namespace nucleus::frontend
