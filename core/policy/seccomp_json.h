#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/policy/seccomp_profile.h"

namespace nucleus::seccomp {

// Parses an OCI (config.json linux.seccomp) or Docker (--security-opt seccomp=FILE) JSON
// profile. Unknown actions and operators are errors naming their place ("profile.json:
// syscalls[3].action: ..."), and so are unknown keys when `strict` (a user's file; a
// config.json's linux.seccomp is read with strict false: the runtime-spec has unknown
// properties ignored); rules for other architectures or newer kernels are dropped here
// (includes/excludes "arches", "minKernel"), capability conditions are kept for resolve().
// Notify listeners and SCMP_ACT_TRACE are refused.
Profile parse_json_profile(std::string_view text, const std::string& name, bool strict = true);

Profile load_json_profile(const std::string& path);

// A resolved profile (no capability gates left) as OCI linux.seccomp for this architecture:
// what the gVisor bundle states in config.json (nucleus-init enforces the compiled form;
// runsc is not asked to) and what scripts/bench gives its peers. The ENOSYS answer for calls
// newer than the profile has no OCI form and is left out.
nlohmann::json to_oci(const Profile& resolved);

}  // namespace nucleus::seccomp
