#pragma once

#include "backends/backend.h"

namespace nucleus::gvisor {

// The workload in gVisor: nucleus writes an OCI bundle from the spec and the core tables and
// drives runsc; the static nucleus-init is the sandbox's PID 1.
class GvisorBackend final : public Backend {
 public:
  std::string_view name() const override { return "gvisor"; }
  int run(const WorkloadSpec& spec) override;

  // The OCI verbs (gvisor_oci.cc): runsc driven with a copy of the bundle.
  void create(const WorkloadSpec& spec, const OciCreateOptions& options) override;
  void start(LockedContainer& container) override;
  std::string status(const ContainerRecord& record, const std::string& dir) override;
  void kill(LockedContainer& container, int signal, bool all) override;
  void remove(LockedContainer& container, bool force) override;
  void pause(LockedContainer& container, bool paused) override;
  std::vector<pid_t> pids(const ContainerRecord& record, const std::string& dir) override;
  void update(LockedContainer& container, const CgroupLimits& limits) override;
  int exec(const ContainerRecord& record, const std::string& dir, const OciProcess& process,
           const OciExecOptions& options) override;
};

}  // namespace nucleus::gvisor
