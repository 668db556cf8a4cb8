#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/workload_spec.h"

// An OCI bundle's config.json (runtime-spec 1.0-1.2) as a WorkloadSpec. Strict, like the
// YAML loader: an unknown key, a wrong type, or a field nucleus cannot honour is an error
// naming it ("config.json: linux.intelRdt: not supported by nucleus"), never ignored.
namespace nucleus {

// An OCI process object (config.json's "process", or `exec --process FILE`).
struct OciProcess {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  std::optional<OciCapabilities> capabilities;  // absent: none at all
  std::vector<RlimitSetting> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  bool terminal = false;
  uint16_t console_rows = 0, console_columns = 0;
};

// `what` names the document in errors ("config.json", "process.json").
OciProcess parse_oci_process(const nlohmann::json& process, const std::string& what);
OciProcess parse_oci_process_text(std::string_view text, const std::string& what);

// The bundle's config.json; bundle_dir must be absolute. Throws Error.
WorkloadSpec load_oci_bundle(const std::string& bundle_dir);
WorkloadSpec parse_oci_config(std::string_view text, const std::string& bundle_dir);

// `nucleus spec`: a default config.json for a rootfs at "rootfs" running `sh`, in the shape
// runc and crun write (their capability set, masked and read-only paths, /dev and /proc).
nlohmann::json default_oci_config(bool rootless);

// The spec fields `nucleus features` reports.
nlohmann::json oci_features();

}  // namespace nucleus
