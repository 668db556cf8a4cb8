#include "backends/native/native_backend.h"

#include "core/sys/host_info.h"

namespace nucleus::native {

Capabilities NativeBackend::capabilities() {
  HostInfo host = probe_host_info();
  auto yes = [](bool b) { return std::string(b ? "yes" : "no"); };
  return {{"landlock", host.landlock_abi > 0 ? "ABI " + std::to_string(host.landlock_abi) : "not available"},
          {"user namespaces", yes(host.user_namespaces)},
          {"seccomp filters", yes(host.seccomp_filter)},
          {"new mount API", yes(host.new_mount_api)}};
}

}  // namespace nucleus::native
