#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/container_spec.h"
#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"
#include "core/container/session.h"

// The interface both backends implement: one method per lifecycle verb, the same for every
// container. `nucleus run` is create + start + wait + delete through these very methods (as
// youki's and crun's run are); the OCI verbs call them one per process, with the container's
// record (core/container/container_record.h) as the only link between them. It lives beside
// the backends rather than in core/ because it speaks ContainerSpec (config/).
namespace nucleus {

struct CreateOptions {
  std::string id;
  std::string root = kStateRoot;  // the state root (--root)
  // Held by this process until it ends (`run`): it dies with this process and is waited
  // for here. Otherwise it outlives `create` (an OCI container).
  bool foreground = false;
  std::string pid_file;        // "" : none
  std::string console_socket;  // "" : none (required when process.terminal)
  // The caller's fds 3 to 3+N-1 passed to the container's process (--preserve-fds).
  unsigned preserve_fds = 0;
};

struct ExecOptions {
  std::string pid_file;
  std::string console_socket;
  bool detach = false;
  unsigned preserve_fds = 0;  // as CreateOptions::preserve_fds
};

// What a backend can do on this host, for `nucleus check`: "what: value" lines.
using Capabilities = std::vector<std::pair<std::string, std::string>>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual Capabilities capabilities() = 0;

  // Makes the container: on return its record says "created" and the workload waits for
  // start. The session holds what this process made; dropped, it removes all of it, and
  // detach() leaves the container to the later verbs. Throws Error (125, or 126/127 when
  // the command cannot be executed); a failed create leaves nothing behind.
  virtual std::unique_ptr<ContainerSession> create(const ContainerSpec& spec, const CreateOptions& options) = 0;
  // Lets the workload run. `held`: the session of this process that created it, if any.
  virtual void start(LockedContainer& container, ContainerSession* held = nullptr) = 0;
  // The foreground: waits for a container this process holds; nucleus's exit code.
  virtual int wait(ContainerSession& held) = 0;
  // created, running, paused or stopped.
  virtual std::string status(const ContainerRecord& record, const std::string& dir) = 0;
  virtual void kill(LockedContainer& container, int signal, bool all) = 0;
  // Removes the container and its record; a live one only with `force` (then killed).
  virtual void remove(LockedContainer& container, bool force, ContainerSession* held = nullptr) = 0;
  virtual void pause(LockedContainer& container, bool paused) = 0;
  virtual std::vector<pid_t> pids(const ContainerRecord& record, const std::string& dir) = 0;
  virtual void update(LockedContainer& container, const CgroupLimits& limits) = 0;
  // Runs one more process in the container (`container`: its spec, as its record keeps it);
  // returns its exit status (or 0 with detach).
  virtual int exec(const ContainerRecord& record, const std::string& dir, const ContainerSpec& container,
                   const ProcessSpec& process, const ExecOptions& options) = 0;
};

// The backend that runs a kind of container (frontend/backend_select.cc).
std::unique_ptr<Backend> backend_for(BackendKind kind);

}  // namespace nucleus
