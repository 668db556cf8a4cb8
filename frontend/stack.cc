#include "frontend/stack.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "config/resolve.h"
#include "config/spec_json.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/service_launch.h"

namespace nucleus::frontend {
namespace {

const WorkloadSpec& service_of(const WorkloadFile& file, const std::string& name) {
  for (const auto& [n, spec] : file.workloads) {
    if (n == name) return spec;
  }
  std::string names;
  for (const auto& [n, spec] : file.workloads) names += (names.empty() ? "" : ", ") + n;
  throw Error(file.path, "no service named '" + name + "' (it has: " + names + ")");
}

// Depth-first, dependencies first; `path` is the chain being visited, for the cycle's words.
void visit(const WorkloadFile& file, const std::string& name, std::vector<std::string>& path,
           std::vector<std::string>& order) {
  if (std::find(order.begin(), order.end(), name) != order.end()) return;
  auto seen = std::find(path.begin(), path.end(), name);
  if (seen != path.end()) {
    std::string cycle;
    for (auto it = seen; it != path.end(); ++it) cycle += *it + " -> ";
    throw Error(file.path, "depends_on makes a cycle: " + cycle + name);
  }
  const WorkloadSpec& spec = service_of(file, name);
  path.push_back(name);
  for (const auto& [dependency, condition] : spec.service.depends_on) {
    const WorkloadSpec& target = service_of(file, dependency);
    if (condition == DependsCondition::kHealthy && !target.service.health) {
      throw Error(file.path, name + " waits for " + dependency + " to be healthy, which has no health check");
    }
    visit(file, dependency, path, order);
  }
  path.pop_back();
  order.push_back(name);
}

bool service_exists(const std::string& root, const std::string& id) {
  struct stat st;
  return ::stat((service::service_dir(root, id) + "/state.json").c_str(), &st) == 0;
}

// Polls a dependency's state until it meets the condition; throws when it has exited.
void wait_for_dependency(const std::string& root, const std::string& id, DependsCondition condition) {
  for (auto end = std::chrono::steady_clock::now() + std::chrono::minutes(5);;) {
    service::ServiceState s = service::read_state(service::service_dir(root, id));
    if (s.status == "running" && (condition == DependsCondition::kStarted || s.health == "healthy")) return;
    if (s.status == "exited") throw Error(id, "exited (" + s.reason + ") before its dependents could start");
    if (std::chrono::steady_clock::now() > end) throw Error(id, "not " + std::string(to_string(condition)) + " after 5 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Whether the service's record holds exactly this spec and these options.
bool unchanged(const std::string& root, const std::string& id, const ContainerSpec& spec, const ServiceSpec& service) {
  std::string dir = service::service_dir(root, id);
  try {
    return sys::read_file(dir + "/service.json", 1u << 20, "read") == service_spec_to_json(service) &&
           spec_to_json(read_spec_file(dir)) == spec_to_json(service_container_spec(spec, service, dir));
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

std::vector<std::string> stack_order(const WorkloadFile& file, const std::vector<std::string>& wanted) {
  std::vector<std::string> order, path;
  if (wanted.empty()) {
    for (const auto& [name, spec] : file.workloads) visit(file, name, path, order);
  } else {
    for (const std::string& name : wanted) visit(file, name, path, order);
  }
  // Every dependency is checked, also of services not started now.
  std::vector<std::string> all;
  for (const auto& [name, spec] : file.workloads) visit(file, name, path, all);
  return order;
}

int stack_up(const std::string& root, const std::string& path, const std::vector<std::string>& wanted) {
  WorkloadFile file = load_workload_file(path);
  std::vector<std::string> order = stack_order(file, wanted);
  // Every service resolved before anything starts: bad input starts nothing.
  std::map<std::string, std::pair<WorkloadSpec, ContainerSpec>> resolved;
  for (const std::string& name : order) {
    WorkloadSpec request = service_of(file, name);
    request.name = name;
    request.service.detach = true;
    if (request.command.empty()) throw Error(path, "service " + name + " has no command");
    if (request.service.sdnotify == SdNotifyMode::kContainer) request.sd_notify = true;
    resolved.emplace(name, std::make_pair(request, resolve_workload(request)));
  }
  for (const std::string& name : order) {
    const auto& [request, spec] = resolved.at(name);
    for (const auto& [dependency, condition] : request.service.depends_on) wait_for_dependency(root, dependency, condition);
    std::string dir = service::service_dir(root, name);
    if (service_exists(root, name)) {
      if (unchanged(root, name, spec, request.service)) {
        if (service::monitor_alive(dir)) {
          std::cout << name << ": unchanged\n";
          continue;
        }
        relaunch_service(root, name);
        std::cout << name << ": started\n";
        continue;
      }
      stop_service(root, name, 10);
      service::remove_service_dir(root, name);
      run_detached(root, request, spec, /*print_id=*/false);
      std::cout << name << ": replaced\n";
      continue;
    }
    run_detached(root, request, spec, /*print_id=*/false);
    std::cout << name << ": started\n";
  }
  return 0;
}

int stack_down(const std::string& root, const std::string& path, const std::vector<std::string>& wanted) {
  WorkloadFile file = load_workload_file(path);
  std::vector<std::string> order = wanted.empty() ? stack_order(file, {}) : wanted;
  for (const std::string& name : wanted) service_of(file, name);
  std::reverse(order.begin(), order.end());
  for (const std::string& name : order) {
    if (!service_exists(root, name)) continue;
    stop_service(root, name, 10);
    service::remove_service_dir(root, name);
    std::cout << name << ": removed\n";
  }
  return 0;
}

}  // namespace nucleus::frontend
