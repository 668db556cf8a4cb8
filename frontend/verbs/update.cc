// `nucleus update [--resources FILE|-] [flags] ID`: new cgroup limits for a live container,
// read like config.json's linux.resources, with runc's flags laid over them.
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "config/oci/oci_config.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

using json = nlohmann::json;

struct UpdateFlags {
  std::optional<std::string> resources, memory, memory_swap, memory_reservation, cpu_quota, cpu_period, cpu_share,
      pids_limit, cpuset_cpus, cpuset_mems, blkio_weight;
};

// The same reader as config.json: a linux.resources object, flags laid over it.
CgroupLimits limits_from(const UpdateFlags& f) {
  json resources = json::object();
  if (f.resources) {
    std::string text;
    if (*f.resources == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      text = sys::read_file(*f.resources, 1u << 20, "read --resources");
    }
    resources = json::parse(text, nullptr, false);
    if (resources.is_discarded()) throw Error("--resources", "not valid JSON");
  }
  auto number = [](const std::optional<std::string>& v, const char* flag) {
    try {
      return std::stoll(*v);
    } catch (const std::exception&) {
      throw Error(flag, "'" + *v + "' is not a number");
    }
  };
  if (f.memory) resources["memory"]["limit"] = number(f.memory, "--memory");
  if (f.memory_swap) resources["memory"]["swap"] = number(f.memory_swap, "--memory-swap");
  if (f.memory_reservation) resources["memory"]["reservation"] = number(f.memory_reservation, "--memory-reservation");
  if (f.cpu_quota) resources["cpu"]["quota"] = number(f.cpu_quota, "--cpu-quota");
  if (f.cpu_period) resources["cpu"]["period"] = number(f.cpu_period, "--cpu-period");
  if (f.cpu_share) resources["cpu"]["shares"] = number(f.cpu_share, "--cpu-share");
  if (f.pids_limit) resources["pids"]["limit"] = number(f.pids_limit, "--pids-limit");
  if (f.cpuset_cpus) resources["cpu"]["cpus"] = *f.cpuset_cpus;
  if (f.cpuset_mems) resources["cpu"]["mems"] = *f.cpuset_mems;
  if (f.blkio_weight) resources["blockIO"]["weight"] = number(f.blkio_weight, "--blkio-weight");
  json config = {{"ociVersion", "1.0.2"},
                 {"root", {{"path", "/"}}},
                 {"process", {{"args", {"update"}}}},
                 {"linux", {{"resources", resources}}}};
  CgroupLimits limits = parse_oci_config(config.dump(), "/").limits;
  // Only what was given changes.
  limits.oci = false;
  if (!resources.contains("pids")) limits.pids.reset();
  return limits;
}

}  // namespace

void add_update_command(CLI::App& app, Globals& g, Action& action) {
  auto f = std::make_shared<UpdateFlags>();
  add_locked_verb(
      app, g, action, "update", "Change a container's resource limits",
      [f](CLI::App& cmd) {
        cmd.add_option("-r,--resources", f->resources, "linux.resources as JSON (a file, or - for stdin)");
        cmd.add_option("--memory", f->memory, "Memory limit in bytes");
        cmd.add_option("--memory-swap", f->memory_swap, "Memory plus swap in bytes (-1 unlimited)");
        cmd.add_option("--memory-reservation", f->memory_reservation, "Memory soft limit in bytes");
        cmd.add_option("--cpu-quota", f->cpu_quota, "CFS quota in microseconds");
        cmd.add_option("--cpu-period", f->cpu_period, "CFS period in microseconds");
        cmd.add_option("--cpu-share", f->cpu_share, "CPU shares");
        cmd.add_option("--pids-limit", f->pids_limit, "Maximum tasks");
        cmd.add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs");
        cmd.add_option("--cpuset-mems", f->cpuset_mems, "Memory nodes");
        cmd.add_option("--blkio-weight", f->blkio_weight, "Block I/O weight, 10 to 1000");
      },
      [f](Backend& b, LockedContainer& c) {
        b.update(c, limits_from(*f));
        return 0;
      });
}

}  // namespace nucleus::frontend
