#include "config/presets.h"

#include <array>

namespace nucleus {
namespace {

constexpr std::array<std::string_view, 14> kDockerDefaultCaps = {
    "CHOWN",  "DAC_OVERRIDE",     "FSETID",     "FOWNER", "MKNOD",       "NET_RAW",
    "SETGID", "SETUID",           "SETFCAP",    "SETPCAP", "NET_BIND_SERVICE",
    "SYS_CHROOT", "KILL",         "AUDIT_WRITE",
};
constexpr std::span<const std::string_view> kNoCaps;

// clang-format off
//  level                      backend               user namespace                     root caps           seccomp landlock nnp   masks
constexpr std::array<Preset, 3> kPresets = {{
  {IsolationLevel::kTrusted,   BackendKind::kNative, UserNamespacePolicy::kWhenRootless, kDockerDefaultCaps, true,   false,   true, true},
  {IsolationLevel::kStandard,  BackendKind::kNative, UserNamespacePolicy::kAlways,       kNoCaps,            true,   true,    true, true},
  {IsolationLevel::kUntrusted, BackendKind::kGvisor, UserNamespacePolicy::kAlways,       kNoCaps,            true,   false,   true, true},
}};
// clang-format on

}  // namespace

const Preset& preset_for(IsolationLevel level) {
  for (const Preset& p : kPresets) {
    if (p.level == level) return p;
  }
  return kPresets[1];
}

std::span<const std::string_view> docker_default_capabilities() { return kDockerDefaultCaps; }

}  // namespace nucleus
