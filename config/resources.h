#pragma once

#include <string>
#include <string_view>

#include "config/workload_spec.h"
#include "core/cgroup/cgroup.h"

namespace nucleus {

// The cgroup limits a spec asks for: its resources, with the contract's default of 1024
// pids, and accounting for `nucleus stats` when the container is named.
CgroupLimits cgroup_limits(const WorkloadSpec& spec);

// "8:0 rbps=1048576 wiops=100": a device and at least one of rbps, wbps, riops, wiops.
// Throws Error(what, ...).
IoMax parse_io_max(std::string_view text, const std::string& what);
uint32_t parse_io_weight(std::string_view text, const std::string& what);
// A cgroup path from the hierarchy's root ("/ci/jobs"): no "..", no NUL, not empty.
std::string parse_cgroup_parent(std::string_view text, const std::string& what);

}  // namespace nucleus
