#pragma once

#include <sys/resource.h>

#include <string_view>
#include <vector>

// THE rlimit table, shared by both backends: native applies it in the container's PID 1
// before the workload is forked; the gVisor bundle lists it in process.rlimits.
namespace nucleus {

struct RlimitSetting {
  int resource;
  rlim_t soft;
  rlim_t hard;
};

struct RlimitContext {
  bool user_namespace = false;  // NPROC counts per (user namespace, uid) only then
};

// The table's values, capped at the caller's own hard limits (which nucleus, lacking
// CAP_SYS_RESOURCE, cannot raise).
std::vector<RlimitSetting> plan_rlimits(const RlimitContext& context);

// "NOFILE" for messages; every resource the kernel has, not only the table's.
const char* rlimit_name(int resource);
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE (the OCI spelling); -1 when unknown.
int rlimit_from_oci_name(std::string_view name);

// Child: setrlimit for each. Returns 0, or an errno with *failed set to the index.
int apply_rlimits(const std::vector<RlimitSetting>& limits, int* failed) noexcept;

}  // namespace nucleus
