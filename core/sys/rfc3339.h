#pragma once

#include <time.h>

#include <string>

namespace nucleus {

// UTC with nanoseconds, as OCI state, CRI logs and docker print it:
// 2026-12-06T08:30:00.123456789Z. Computed from the epoch alone: gmtime_r would read
// /etc/localtime on its first call (glibc's tzset), which a start need not pay for.
std::string rfc3339(const timespec& when);
std::string rfc3339_now();

}  // namespace nucleus
