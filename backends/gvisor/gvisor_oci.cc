// The OCI verbs on the gVisor backend. (Being built: each refuses with exit 125 until then.)
#include "backends/gvisor/gvisor_backend.h"
#include "core/error.h"

namespace nucleus::gvisor {
namespace {
[[noreturn]] void unbuilt(const char* verb) {
  throw Error(std::string(verb) + " (gvisor backend)", "not supported by this version of nucleus yet");
}
}  // namespace

void GvisorBackend::create(const WorkloadSpec&, const OciCreateOptions&) { unbuilt("create"); }
void GvisorBackend::start(LockedContainer&) { unbuilt("start"); }
std::string GvisorBackend::status(const ContainerRecord&, const std::string&) { unbuilt("state"); }
void GvisorBackend::kill(LockedContainer&, int, bool) { unbuilt("kill"); }
void GvisorBackend::remove(LockedContainer&, bool) { unbuilt("delete"); }
void GvisorBackend::pause(LockedContainer&, bool) { unbuilt("pause"); }
std::vector<pid_t> GvisorBackend::pids(const ContainerRecord&, const std::string&) { unbuilt("ps"); }
void GvisorBackend::update(LockedContainer&, const CgroupLimits&) { unbuilt("update"); }
int GvisorBackend::exec(const ContainerRecord&, const std::string&, const OciProcess&, const OciExecOptions&) { unbuilt("exec"); }

}  // namespace nucleus::gvisor
