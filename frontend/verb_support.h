#pragma once

#include <time.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "backends/backend.h"
#include "core/container/container_record.h"
#include "frontend/cli.h"

// What the verbs share: the container id rule, signal names, paths, and the shape of a
// verb that changes one container's record under its lock.
namespace nucleus::frontend {

// Throws Error(id, ...) for an id that breaks the rule (config/validate.h).
void check_id(const std::string& id);

// "TERM", "SIGTERM", "15", "RTMIN+3" -> the number; nullopt when unknown.
std::optional<int> parse_signal(std::string name);

// An absolute path for a path given on the command line (relative to the current directory).
std::string absolute(const std::string& path);

// A bundle's config.json as the OCI verbs read it (create, runc's run): the global flags
// applied (--systemd-cgroup or --cgroup-manager systemd: cgroupsPath is slice:prefix:name;
// invoked as nucleus-gvisor: the gVisor backend unless the config names one). Throws Error.
ContainerSpec load_bundle(const Globals& g, const std::string& bundle_dir);

// What `create` and runc's `run` share: a bundle's container and how it is made.
struct BundleFlags {
  std::string bundle = ".", pid_file, console_socket, id;
  bool no_pivot = false, no_new_keyring = false;
  unsigned preserve_fds = 0;
};
void add_bundle_flags(CLI::App& cmd, BundleFlags& f);
// The flags checked, the bundle loaded (load_bundle) and the options of its create.
struct BundleCreate {
  ContainerSpec spec;
  CreateOptions options;
};
BundleCreate prepare_bundle_create(const Globals& g, const BundleFlags& f, bool foreground);

// --since (logs, events): "" when not given, else the timestamp the history is compared
// with (service::since_timestamp); throws Error naming what it is not.
std::string since_flag(const std::optional<std::string>& value);

// --preserve-fds N: fds 3 to 3+N-1 must be open here (a closed one would be taken by an fd of
// nucleus's, which would then reach the container). Throws Error.
void check_preserved_fds(unsigned count);

// The backend that made a container, from its record.
std::unique_ptr<Backend> backend_of(const ContainerRecord& record, const std::string& dir);

// A held container's events for `nucleus events` (core/service/events.h): its create, its
// start when `started` (the time it was started) and its die when it ended with `exit_code`;
// formatted here and written by its keeper once this process has exited, so nothing is
// added on the way to the workload's exec and no write comes before the exit status.
void leave_lifecycle_events(ContainerSession& container, const std::string& root, const timespec* started,
                            std::optional<int> exit_code);

// A verb of one id that takes the record's lock: `name ID` (+ extra options), then verb.
using LockedVerb = std::function<int(Backend&, LockedContainer&)>;
void add_locked_verb(CLI::App& app, Globals& g, Action& action, const char* name, const char* about,
                     const std::function<void(CLI::App&)>& extra, LockedVerb verb, bool tolerate_corruption = false);

}  // namespace nucleus::frontend
