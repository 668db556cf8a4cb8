#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/oci/oci_config.h"
#include "config/workload_spec.h"
#include "core/cgroup/cgroup.h"
#include "core/container/container_record.h"

// The interface both backends implement. It lives beside them rather than in core/ because
// it speaks WorkloadSpec (config/), and core/ depends on nothing of ours
// (docs/architecture.md, "Dependencies").
namespace nucleus {

struct OciCreateOptions {
  std::string id;
  std::string root;            // the state root (--root)
  std::string pid_file;        // "" : none
  std::string console_socket;  // "" : none (required when process.terminal)
};

struct OciExecOptions {
  std::string pid_file;
  std::string console_socket;
  bool detach = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // Runs the workload in the foreground and returns nucleus's exit code: the workload's
  // status, 128+N when signal N killed it, 124 on --timeout. Throws Error when nucleus
  // itself fails (exit 125, or 126/127 when the command cannot be executed); whatever it
  // created is gone by the time the exception leaves.
  virtual int run(const WorkloadSpec& spec) = 0;

  // ---- the OCI lifecycle (frontend/cmd_oci.cc), for a spec from a bundle -------------
  // `create` leaves the container stopped before its exec until `start`; its record (with
  // the lock held while it changes) is the only link between the verbs. Every method
  // throws Error; a failed create leaves nothing behind.
  virtual void create(const WorkloadSpec& spec, const OciCreateOptions& options) = 0;
  virtual void start(LockedContainer& container) = 0;
  // created, running, paused or stopped.
  virtual std::string status(const ContainerRecord& record, const std::string& dir) = 0;
  virtual void kill(LockedContainer& container, int signal, bool all) = 0;
  // Removes the container and its record; a live one only with `force` (then killed).
  virtual void remove(LockedContainer& container, bool force) = 0;
  virtual void pause(LockedContainer& container, bool paused) = 0;
  virtual std::vector<pid_t> pids(const ContainerRecord& record, const std::string& dir) = 0;
  virtual void update(LockedContainer& container, const CgroupLimits& limits) = 0;
  // Runs one more process in the container; returns its exit status (or 0 with detach).
  virtual int exec(const ContainerRecord& record, const std::string& dir, const OciProcess& process,
                   const OciExecOptions& options) = 0;
};

}  // namespace nucleus
