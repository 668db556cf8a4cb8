#include "core/service/health.h"

#include <gtest/gtest.h>

namespace nucleus::service {
namespace {

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
