#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/workload_spec.h"

// Loads a workload file (docs/yaml-reference.md) into WorkloadSpecs. Strict on purpose:
// unknown or duplicate keys, wrong types, out-of-range values, a version other than 1,
// more than one document, files over 1 MiB, non-UTF-8 text, a BOM and unclosed quotes are
// errors naming "file:line:column: key.path". Relative paths (rootfs, volume sources,
// seccomp profiles) are resolved against the file's directory.
namespace nucleus {

struct WorkloadFile {
  std::string path;
  std::vector<std::pair<std::string, WorkloadSpec>> workloads;  // in file order
  bool stack = false;  // written as `services:` (a stack, `nucleus up`)

  // The named workload, or an Error listing the names there are.
  const WorkloadSpec& get(std::string_view name) const;
};

inline constexpr size_t kMaxWorkloadFileBytes = 1u << 20;

WorkloadFile load_workload_file(const std::string& path);

// The same, from text already in memory (`path` only names it in messages and anchors
// relative paths).
WorkloadFile parse_workload_file(std::string_view text, const std::string& path);

}  // namespace nucleus
