#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/workload_spec.h"

// The last checks before a backend builds anything, the ones that need the host: paths made
// canonical and checked again after their symlinks are resolved (a volume source that is a
// link to /etc is refused like /etc itself; an image whose /proc, /sys or /dev is a symlink
// is refused: CVE-2019-19921, CVE-2026-41579). And reading the container's own files
// (passwd, group) before it exists.
namespace nucleus {

// Throws Error naming the path.
WorkloadSpec resolve_host_paths(const WorkloadSpec& spec);

// A small file of the container's root ("etc/passwd"): the rootfs's (resolved inside it,
// never following a link out), or the host's for the host view. "" when absent.
std::string read_container_file(const std::optional<std::string>& rootfs, const std::string& relpath);

// Whether an absolute path is a directory in the container's view: in the rootfs, or (host
// view) the root, /tmp or a place something is mounted at.
bool container_has_dir(const WorkloadSpec& spec, const std::string& path);

}  // namespace nucleus
