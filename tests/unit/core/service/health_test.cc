#include "core/service/health.h"

#include <gtest/gtest.h>

namespace nucleus::service {
namespace {

TEST(HealthLog, KeepsTheLastFiveWithBoundedOutput) {
  std::vector<HealthResult> log;
  for (int i = 0; i < 7; ++i) keep_health_result(log, {std::to_string(i), std::to_string(i), i, std::string(5000, 'x')});
  ASSERT_EQ(log.size(), kHealthLogEntries);
  EXPECT_EQ(log.front().exit_code, 2);  // 0 and 1 dropped, oldest first
  EXPECT_EQ(log.back().exit_code, 6);
  for (const HealthResult& r : log) EXPECT_EQ(r.output.size(), kHealthOutputBytes);
  keep_health_result(log, {"a", "b", -1, "short"});
  EXPECT_EQ(log.back().output, "short");
  EXPECT_EQ(log.front().exit_code, 3);
}

TEST(Health, StartsStartingAndAPassMakesItHealthy) {
  HealthState h(3);
  EXPECT_EQ(h.status(), HealthStatus::kStarting);
  EXPECT_TRUE(h.record(true, false));
  EXPECT_EQ(h.status(), HealthStatus::kHealthy);
  EXPECT_FALSE(h.record(true, false));  // no change
}

TEST(Health, RetriesFailuresInARowMakeItUnhealthy) {
  HealthState h(3);
  h.record(true, false);
  EXPECT_FALSE(h.record(false, false));
  EXPECT_FALSE(h.record(false, false));
  EXPECT_EQ(h.status(), HealthStatus::kHealthy);
  EXPECT_TRUE(h.record(false, false));
  EXPECT_EQ(h.status(), HealthStatus::kUnhealthy);
  EXPECT_EQ(h.failing_streak(), 3u);
  EXPECT_TRUE(h.record(true, false));  // a pass heals it
  EXPECT_EQ(h.failing_streak(), 0u);
}

TEST(Health, FailuresInTheStartPeriodDoNotCount) {
  HealthState h(1);
  EXPECT_FALSE(h.record(false, true));
  EXPECT_EQ(h.status(), HealthStatus::kStarting);
  EXPECT_TRUE(h.record(false, false));
  EXPECT_EQ(h.status(), HealthStatus::kUnhealthy);
}

TEST(Health, Names) {
  EXPECT_STREQ(to_string(HealthStatus::kStarting), "starting");
  EXPECT_STREQ(to_string(HealthStatus::kUnhealthy), "unhealthy");
}

}  // namespace
}  // namespace nucleus::service
