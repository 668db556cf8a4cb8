#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/workload_spec.h"

// Validation before anything touches the kernel (runc validator.go style): small named
// checks, each raising one precise Error. Field parsers are shared by flags and YAML; the
// caller passes `what` (a flag name, or "file:line:col: key.path") so the message names
// the offending input.
namespace nucleus {

// ---- field checks: each returns the problem in words, or nullopt -----------------------
std::optional<std::string> check_container_name(std::string_view name);
std::optional<std::string> check_hostname(std::string_view name);
std::optional<std::string> check_env_key(std::string_view key);
std::optional<std::string> check_no_nul(std::string_view text);
// A path inside the container that may be a mount destination, workdir or tmpfs.
std::optional<std::string> check_destination(std::string_view normalized);
// A host path nucleus may bind into a container (after normalization or realpath).
std::optional<std::string> check_volume_source(std::string_view normalized);

// Lexical normalization of an absolute path: "/a/./b/../c//" -> "/a/c"; "/.." -> "/".
std::string normalize_path(std::string_view path);
// Absolute paths pass through normalized; relative ones join base_dir, or are refused
// (nullopt) when base_dir is empty.
std::optional<std::string> absolute_path(std::string_view path, const std::string& base_dir);

// ---- textual forms shared by flags and YAML (throw Error(what, ...)) -------------------
std::pair<std::string, std::string> parse_env_assignment(std::string_view text,
                                                         const std::string& what);
VolumeSpec parse_volume(std::string_view text, const std::string& base_dir,
                        const std::string& what);
TmpfsSpec parse_tmpfs(std::string_view text, const std::string& what);
uint64_t parse_memory(std::string_view text, const std::string& what);
// --layer-size / layer_size: a size of at least kMinLayerSize.
uint64_t parse_layer_size(std::string_view text, const std::string& what);
double parse_cpu_count(std::string_view text, const std::string& what);
int64_t parse_pids(std::string_view text, const std::string& what);
uint32_t parse_timeout(std::string_view text, const std::string& what);
SeccompRequest parse_seccomp(std::string_view text, const std::string& base_dir,
                          const std::string& what);

// ---- the whole spec: cross-field checks, in order; throws on the first failure ----------
void validate_spec(const WorkloadSpec& spec);

inline constexpr size_t kMaxEnvVars = 4096;
inline constexpr size_t kMaxArgEnvBytes = 1u << 20;  // well under the kernel's ARG_MAX
inline constexpr uint64_t kMinMemory = 6ull << 20;   // docker's minimum
inline constexpr uint64_t kMinLayerSize = 1ull << 20;
inline constexpr uint32_t kMaxTimeout = 365u * 24 * 3600;

}  // namespace nucleus
