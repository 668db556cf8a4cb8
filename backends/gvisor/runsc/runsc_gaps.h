#pragma once

#include <string>
#include <vector>

#include "core/policy/seccomp_profile.h"

// What the installed runsc cannot do, as a table keyed by its release date (from `runsc
// --version`, which runsc_info caches per binary): nucleus decides how to stand in for each
// gap without starting a sandbox, and `nucleus check` lists them. Only the runsc Debian 12
// ships (0.0~20221219.0) was examined; a release nucleus cannot date is treated as that one.
namespace nucleus::gvisor {

struct RunscGap {
  std::string what;    // what this runsc does not do
  std::string answer;  // what nucleus does about it (or what an agent does instead)
};

// The release date of a runsc version string ("0.0~20221219.0", "release-20221219.0") as
// YYYYMMDD, or 0 when it has none.
int runsc_release_date(const std::string& version);

// The gaps of that release the workload's filter stands in for (for_sentry).
seccomp::SentryGaps sentry_gaps(const std::string& version);

// Whether that release takes every network namespace for the host's when it sets up a
// sandbox network (it probes /proc/sys/net/core/rmem_default, which newer kernels show in
// every namespace): `runsc start` then runs with /proc/sys/net hidden (run_runsc_start_hiding_net_sysctls),
// and nucleus makes runsc's check itself first (gvisor_create.cc).
bool mistakes_every_netns_for_the_hosts(const std::string& version);

// Every known gap of that release, worded for `nucleus check`.
std::vector<RunscGap> runsc_gaps(const std::string& version);

}  // namespace nucleus::gvisor
