#include "frontend/backend_select.h"

#include "backends/gvisor/gvisor_backend.h"
#include "backends/native/native_backend.h"
#include "config/presets.h"
#include "core/sys/error.h"

namespace nucleus::frontend {

std::unique_ptr<Backend> select_backend(const WorkloadSpec& spec) {
  const Preset& preset = preset_for(spec.isolation);
  BackendKind kind = spec.backend.value_or(preset.backend);
  if (spec.isolation == IsolationLevel::kUntrusted && kind == BackendKind::kNative) {
    throw Error("--backend native", "the untrusted level runs only under gVisor");
  }
  if (kind == BackendKind::kGvisor) {
    if (spec.landlock.value_or(false)) {
      throw Error("--landlock on", "Landlock cannot apply under gVisor (the Sentry has no Landlock)");
    }
    return std::make_unique<gvisor::GvisorBackend>();
  }
  return std::make_unique<native::NativeBackend>();
}

}  // namespace nucleus::frontend
