#include "core/sys/rfc3339.h"

#include <chrono>
#include <cstdio>

namespace nucleus {

std::string rfc3339(const timespec& when) {
  using namespace std::chrono;
  sys_seconds seconds{duration_cast<sys_seconds::duration>(std::chrono::seconds{when.tv_sec})};
  sys_days day = floor<days>(seconds);
  year_month_day date{day};
  hh_mm_ss<std::chrono::seconds> clock{seconds - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lld.%09ldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), static_cast<long>(clock.hours().count()),
                static_cast<long>(clock.minutes().count()), static_cast<long long>(clock.seconds().count()), when.tv_nsec);
  return buf;
}

std::string rfc3339_now() {
  timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  return rfc3339(now);
}

}  // namespace nucleus
