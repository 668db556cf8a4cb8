#pragma once

#include "backends/backend.h"

namespace nucleus::native {

// Linux namespaces, pivot_root and the shared PID-1 supervisor, applied by nucleus itself.
// create (native_create.cc), the verbs after it (native_lifecycle.cc), exec (native_exec.cc).
class NativeBackend final : public Backend {
 public:
  std::string_view name() const override { return "native"; }
  Capabilities capabilities() override;

  std::unique_ptr<ContainerSession> create(const ContainerSpec& spec, const CreateOptions& options) override;
  void start(LockedContainer& container, ContainerSession* held) override;
  int wait(ContainerSession& held) override;
  std::string status(const ContainerRecord& record, const std::string& dir) override;
  void kill(LockedContainer& container, int signal, bool all) override;
  void remove(LockedContainer& container, bool force, ContainerSession* held) override;
  void pause(LockedContainer& container, bool paused) override;
  std::vector<pid_t> pids(const ContainerRecord& record, const std::string& dir) override;
  void update(LockedContainer& container, const CgroupLimits& limits) override;
  int exec(const ContainerRecord& record, const std::string& dir, const ContainerSpec& container,
           const ProcessSpec& process, const ExecOptions& options) override;
};

}  // namespace nucleus::native
