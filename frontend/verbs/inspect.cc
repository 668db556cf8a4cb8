// `nucleus inspect ID...`: a JSON array, one object per container: a service's state
// (status, exit code, restarts, health, pids, times), or a plain container's record.
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

json inspect_one(const std::string& root, const std::string& id) {
  check_id(id);
  try {
    return json::parse(inspect_service_json(root, id));
  } catch (const Error& e) {
    if (std::string(e.what()).find("no such service") == std::string::npos) throw;
  }
  ContainerRecord r = read_container(root, id);
  const std::string dir = root + "/" + id;
  return {{"id", id},
          {"name", id},
          {"status", backend_of(r, dir)->status(r, dir)},
          {"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
          {"restart_count", 0},
          {"health", "none"},
          {"pid", r.pid},
          {"created", r.created},
          {"started_at", r.created},
          {"backend", r.backend}};
}

}  // namespace

void add_inspect_command(CLI::App& app, Globals& g, Action& action) {
  auto ids = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("inspect", "A container's state as JSON");
  cmd->add_option("ids", *ids, "Container names or ids")->required();
  cmd->callback([ids, &g, &action] {
    action = [ids, &g] {
      json all = json::array();
      for (const std::string& id : *ids) all.push_back(inspect_one(g.root, id));
      std::cout << all.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
