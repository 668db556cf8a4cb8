#pragma once

#include "backends/backend.h"

namespace nucleus::gvisor {

// The workload in gVisor: nucleus writes an OCI bundle from the spec and the core tables and
// drives runsc; the static nucleus-init is the sandbox's PID 1.
class GvisorBackend final : public Backend {
 public:
  std::string_view name() const override { return "gvisor"; }
  int run(const WorkloadSpec& spec) override;
};

}  // namespace nucleus::gvisor
