#pragma once

#include <string>
#include <string_view>

#include "core/policy/seccomp_profile.h"

namespace nucleus::seccomp {

// Parses an OCI (config.json linux.seccomp) or Docker (--security-opt seccomp=FILE) JSON
// profile. Strict: unknown keys, actions and operators are errors naming their place
// ("profile.json: syscalls[3].action: ..."); rules for other architectures or newer
// kernels are dropped here (includes/excludes "arches", "minKernel"), capability
// conditions are kept for resolve(). Notify listeners and SCMP_ACT_TRACE are refused.
Profile parse_json_profile(std::string_view text, const std::string& name);

Profile load_json_profile(const std::string& path);

}  // namespace nucleus::seccomp
