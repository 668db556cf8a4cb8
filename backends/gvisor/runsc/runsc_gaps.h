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

// Every known gap of that release, worded for `nucleus check`.
std::vector<RunscGap> runsc_gaps(const std::string& version);

}  // namespace nucleus::gvisor
