#pragma once

#include "backends/backend.h"

namespace nucleus::native {

// Linux namespaces, pivot_root and the shared PID-1 supervisor, applied by nucleus itself.
class NativeBackend final : public Backend {
 public:
  std::string_view name() const override { return "native"; }
  int run(const WorkloadSpec& spec) override;

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

}  // namespace nucleus::native
