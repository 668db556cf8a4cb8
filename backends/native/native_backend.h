#pragma once

#include "backends/backend.h"

namespace nucleus::native {

// Linux namespaces, pivot_root and the shared PID-1 supervisor, applied by nucleus itself.
class NativeBackend final : public Backend {
 public:
  std::string_view name() const override { return "native"; }
  int run(const WorkloadSpec& spec) override;
};

}  // namespace nucleus::native
