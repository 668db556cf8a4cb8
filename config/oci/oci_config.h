#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/container_spec.h"
#include "core/sys/host_info.h"

// An OCI bundle's config.json (runtime-spec 1.0-1.2) as THE container spec. A wrong type or a
// field nucleus cannot honour is an error naming it ("config.json: linux.intelRdt: not
// supported by nucleus"); an unknown key is ignored, as the runtime-spec requires (logged at
// debug). Labels and profiles (process.apparmorProfile, process.selinuxLabel,
// linux.mountLabel) are ignored on a host whose module for them is off, as crun does there
// (runc refuses them), and refused where it is on: nucleus does not apply them.
namespace nucleus {

// `what` names the document in errors ("config.json", "process.json").
// `lsm`: which security modules are on (the host's, unless a test says).
ProcessSpec parse_oci_process(const nlohmann::json& process, const std::string& what, const LsmState& lsm = probe_lsm());
ProcessSpec parse_oci_process_text(std::string_view text, const std::string& what);

// The bundle's config.json; bundle_dir must be absolute. Throws Error.
ContainerSpec load_oci_bundle(const std::string& bundle_dir);
ContainerSpec parse_oci_config(std::string_view text, const std::string& bundle_dir, const LsmState& lsm = probe_lsm());

// `nucleus spec`: a default config.json for a rootfs at "rootfs" running `sh`, in the shape
// runc and crun write (their capability set, masked and read-only paths, /dev and /proc).
nlohmann::json default_oci_config(bool rootless);

// The spec fields `nucleus features` reports.
nlohmann::json oci_features();

}  // namespace nucleus
