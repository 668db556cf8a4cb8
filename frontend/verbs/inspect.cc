// `nucleus inspect ID...`: a JSON array, one object per container: a service's state
// (status, exit code, restarts, health, pids, times), or a plain container's record; and
// for either, the network it holds (a bridge's addresses and published ports) or null.
#include <iostream>

#include <nlohmann/json.hpp>

#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/service_launch.h"
#include "frontend/verb_support.h"
#include "network/client/container_network.h"

namespace nucleus::frontend {
namespace {

using json = nlohmann::json;

// What its lease says while the network is attached, as `docker inspect`'s
// NetworkSettings does; null otherwise (none, host, pasta, or not running).
json network_of(const std::string& root, const std::string& id) {
  std::optional<net::Lease> lease = net::attached_lease(id, net::network_state_dir(root));
  if (!lease) return nullptr;
  json ports = json::array();
  for (const PortPublish& p : lease->publish) ports.push_back(to_string(p));
  return {{"mode", "bridge"},
          {"bridge", lease->bridge},
          {"ipv4", lease->address4.to_string() + "/" + std::to_string(lease->prefix4)},
          {"ipv6", lease->address6.to_string() + "/" + std::to_string(lease->prefix6)},
          {"gateway4", lease->gateway4.to_string()},
          {"gateway6", lease->gateway6.to_string()},
          {"ports", ports}};
}

json inspect_record(const std::string& root, const std::string& id) {
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

json inspect_one(const std::string& root, const std::string& id) {
  check_id(id);
  json j = inspect_record(root, id);
  j["network"] = network_of(root, id);
  return j;
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
