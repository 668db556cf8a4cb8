#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "config/container_spec.h"
#include "config/workload_spec.h"
#include "frontend/cli.h"
#include "frontend/named_options.h"
#include "frontend/overrides.h"

// A detached container (a service): `run -d` writes its record (core/service/service_state.h)
// and forks its monitor (frontend/service_monitor.h), which holds the container as `run`
// holds one in the foreground; the caller returns once the container has started, or is
// ready when --sdnotify asks for it, printing the id. `restart` starts a monitor again from
// the record.
namespace nucleus::frontend {

// -d and the service flags of `run`, each built when named.
void add_service_options(LazyOptions& add, ServiceFlags& flags);

// Returns 0 once started (the id printed); throws the first start's Error, leaving nothing.
int run_detached(const std::string& root, const WorkloadSpec& request, ContainerSpec spec, bool print_id = true);

// The container spec a service keeps: `spec` with its secrets' directory at /run/secrets.
ContainerSpec service_container_spec(ContainerSpec spec, const ServiceSpec& service, const std::string& dir);

// Starts the monitor of an existing, stopped service again (`restart`, `up`).
void relaunch_service(const std::string& root, const std::string& id);

// The service's record directory; throws Error(id, "no such service") when absent.
std::string existing_service(const std::string& root, const std::string& id);

// Stops a service (`stop`, `restart`, `rm -f`, `down`): no restart from now on, SIGTERM to
// the container through its monitor, SIGKILL to every process of it after `seconds`, and
// waits for the monitor to end. False when it was not running.
bool stop_service(const std::string& root, const std::string& id, int seconds);

// `stop` and `restart`: `NAME [-t SECONDS] ID...`; `each` is done to every id in turn, which
// is then printed.
using TimedServiceVerb = std::function<void(const std::string& root, const std::string& id, int seconds)>;
void add_timed_service_verb(CLI::App& app, Globals& g, Action& action, const char* name, const char* about,
                            TimedServiceVerb each);

// inspect's JSON of a service (never a secret).
std::string inspect_service_json(const std::string& root, const std::string& id);

}  // namespace nucleus::frontend
