#pragma once

#include <span>
#include <string_view>

// THE tables of kernel interfaces hidden from or frozen for every workload, on both
// backends (native applies them as mounts; the gVisor bundle writes them into config.json).
// runc's example.go lists plus docker's additions (GHSA-6fw5-f8r9-fgfm, GHSA-jq35-85cj-fj4p).
namespace nucleus {

// Hidden: a file reads as /dev/null, a directory as an empty read-only tmpfs.
std::span<const std::string_view> masked_paths();
// Visible but read-only (the classic core_pattern and sysrq escapes go through here).
std::span<const std::string_view> read_only_paths();

}  // namespace nucleus
