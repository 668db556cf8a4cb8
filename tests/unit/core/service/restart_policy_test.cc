#include "core/service/restart_policy.h"

#include <gtest/gtest.h>

namespace nucleus::service {
namespace {

TEST(RestartPolicy, ParsesDockersPolicies) {
  EXPECT_EQ(parse_restart_policy("no")->kind, RestartKind::kNo);
  EXPECT_EQ(parse_restart_policy("always")->kind, RestartKind::kAlways);
  EXPECT_EQ(parse_restart_policy("unless-stopped")->kind, RestartKind::kUnlessStopped);
  auto limited = parse_restart_policy("on-failure:3");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->kind, RestartKind::kOnFailure);
  EXPECT_EQ(limited->max_retries, 3u);
  EXPECT_FALSE(parse_restart_policy("on-failure")->max_retries);
  EXPECT_EQ(to_string(*limited), "on-failure:3");
}

TEST(RestartPolicy, RefusesWhatIsNotAPolicy) {
  EXPECT_FALSE(parse_restart_policy("sometimes"));
  EXPECT_FALSE(parse_restart_policy("always:3"));
  EXPECT_FALSE(parse_restart_policy("on-failure:"));
  EXPECT_FALSE(parse_restart_policy("on-failure:-1"));
  EXPECT_FALSE(parse_restart_policy(""));
}

TEST(RestartPolicy, DecidesOnTheExitAndTheCount) {
  RestartPolicy no{RestartKind::kNo, {}};
  RestartPolicy on_failure{RestartKind::kOnFailure, 2};
  RestartPolicy always{RestartKind::kAlways, {}};
  EXPECT_FALSE(should_restart(no, 1, 0, false));
  EXPECT_TRUE(should_restart(on_failure, 1, 0, false));
  EXPECT_TRUE(should_restart(on_failure, 1, 1, false));
  EXPECT_FALSE(should_restart(on_failure, 1, 2, false));  // the limit
  EXPECT_FALSE(should_restart(on_failure, 0, 0, false));  // success
  EXPECT_TRUE(should_restart(always, 0, 100, false));
  EXPECT_FALSE(should_restart(always, 1, 0, true));  // stopped by the user
}

TEST(RestartPolicy, BackOffDoublesUpToItsCap) {
  EXPECT_EQ(restart_delay(0), kFirstDelay);
  EXPECT_EQ(restart_delay(1), 2 * kFirstDelay);
  EXPECT_EQ(restart_delay(3), 8 * kFirstDelay);
  EXPECT_EQ(restart_delay(50), kMaxDelay);
  for (uint32_t i = 1; i < 40; ++i) EXPECT_GE(restart_delay(i), restart_delay(i - 1));
}

}  // namespace
}  // namespace nucleus::service
