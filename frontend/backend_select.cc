// The one backend selector: a kind of container -> the backend that runs it. Which kind a
// container is was decided once, when its spec was resolved (config/resolve.h: the
// isolation level, --backend; config.json: the run.nucleus.backend annotation, or the name
// nucleus-gvisor).
#include "backends/backend.h"
#include "backends/gvisor/gvisor_backend.h"
#include "backends/native/native_backend.h"

namespace nucleus {

std::unique_ptr<Backend> backend_for(BackendKind kind) {
  if (kind == BackendKind::kGvisor) return std::make_unique<gvisor::GvisorBackend>();
  return std::make_unique<native::NativeBackend>();
}

}  // namespace nucleus
