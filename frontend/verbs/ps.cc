// `nucleus ps [--format table|json] ID`: the container's processes, as the host sees them
// (runc's ps, which containerd's shim relies on). Without an ID, docker's habit: the
// containers (services first, then the others), running ones only unless -a.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/service_launch.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

using json = nlohmann::json;

int print_processes(const std::string& root, const std::string& id, const std::string& format) {
  check_id(id);
  const std::string dir = root + "/" + id;
  ContainerRecord r = read_container(root, id);
  std::vector<pid_t> pids = backend_of(r, dir)->pids(r, dir);
  if (format == "json") {
    std::cout << json(pids).dump() << "\n";
    return 0;
  }
  std::cout << "PID\n";
  for (pid_t p : pids) std::cout << p << "\n";
  return 0;
}

json containers(const std::string& root, bool all) {
  json out = json::array();
  std::vector<std::string> services = service::list_services(root);
  for (const std::string& id : services) {
    try {
      json j = json::parse(inspect_service_json(root, id));
      if (all || j["status"] != "exited") out.push_back(j);
    } catch (const Error&) {
      // Being made or removed meanwhile.
    }
  }
  for (const std::string& id : list_records(root)) {
    if (std::find(services.begin(), services.end(), id) != services.end()) continue;
    try {
      ContainerRecord r = read_container(root, id);
      std::string status = backend_of(r, root + "/" + id)->status(r, root + "/" + id);
      if (!all && status == "stopped") continue;
      out.push_back({{"id", id}, {"name", id}, {"status", status}, {"health", "none"}, {"restart_count", 0},
                     {"pid", r.pid}, {"reason", ""}, {"exit_code", nullptr}, {"created", r.created}});
    } catch (const Error&) {
    }
  }
  return out;
}

std::string status_text(const json& c) {
  std::string status = c["status"].get<std::string>();
  if (status == "exited") {
    status += c["exit_code"].is_null() ? "" : " (" + std::to_string(c["exit_code"].get<int>()) + ")";
    std::string reason = c.value("reason", "");
    if (!reason.empty() && reason != "exited") status += " " + reason;
  }
  std::string health = c.value("health", "none");
  if (health != "none") status += " (" + health + ")";
  return status;
}

}  // namespace

void add_ps_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    std::string format = "table", id;
    bool all = false, quiet = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("ps", "List containers, or the processes of one (ps ID)");
  cmd->add_option("-f,--format", f->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-a,--all", f->all, "Also containers that have exited");
  cmd->add_flag("-q,--quiet", f->quiet, "Ids only");
  cmd->add_option("id", f->id, "Container id or name: its processes");
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      if (!f->id.empty()) return print_processes(g.root, f->id, f->format);
      json list = containers(g.root, f->all);
      if (f->format == "json") {
        std::cout << list.dump() << "\n";
        return 0;
      }
      if (!f->quiet) std::printf("%-24s %-8s %-9s %s\n", "ID", "PID", "RESTARTS", "STATUS");
      for (const json& c : list) {
        std::string id = c["id"].get<std::string>();
        if (f->quiet) {
          std::printf("%s\n", id.c_str());
          continue;
        }
        std::printf("%-24s %-8d %-9u %s\n", id.c_str(), c.value("pid", 0), c.value("restart_count", 0u), status_text(c).c_str());
      }
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
