// The timestamps of records, logs and events: computed without the time zone database, and
// equal to what gmtime_r + strftime print.
#include <gtest/gtest.h>
#include <time.h>

#include <cstdio>

#include "core/sys/rfc3339.h"

namespace nucleus {
namespace {

std::string with_libc(const timespec& when) {
  tm t;
  ::gmtime_r(&when.tv_sec, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", when.tv_nsec);
  return buf;
}

TEST(Rfc3339, TheEpochAndALeapDay) {
  EXPECT_EQ(rfc3339({0, 0}), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(rfc3339({951782400 + 86399, 5}), "2000-02-29T23:59:59.000000005Z");
}

TEST(Rfc3339, AgreesWithGmtimeOverCenturies) {
  for (long long s = -2208988800LL; s < 4102444800LL; s += 7654321) {
    timespec when{static_cast<time_t>(s), 123456789};
    ASSERT_EQ(rfc3339(when), with_libc(when)) << s;
  }
}

TEST(Rfc3339, NowIsUtcAndWellFormed) {
  std::string now = rfc3339_now();
  ASSERT_EQ(now.size(), 30u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace nucleus
