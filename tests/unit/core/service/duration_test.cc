#include "core/service/duration.h"

#include <gtest/gtest.h>

namespace nucleus::service {
namespace {

TEST(Duration, UnitsAndSequences) {
  EXPECT_EQ(parse_duration_ms("500ms"), 500);
  EXPECT_EQ(parse_duration_ms("30s"), 30'000);
  EXPECT_EQ(parse_duration_ms("2m"), 120'000);
  EXPECT_EQ(parse_duration_ms("1h"), 3'600'000);
  EXPECT_EQ(parse_duration_ms("1m30s"), 90'000);
  EXPECT_EQ(parse_duration_ms("0s"), 0);
  EXPECT_EQ(parse_duration_ms("15"), 15'000);  // a bare number is seconds
}

TEST(Duration, RefusesNegativeUnknownAndEmpty) {
  EXPECT_FALSE(parse_duration_ms("-1s"));
  EXPECT_FALSE(parse_duration_ms(""));
  EXPECT_FALSE(parse_duration_ms("5x"));
  EXPECT_FALSE(parse_duration_ms("s"));
  EXPECT_FALSE(parse_duration_ms("1.5s"));
  EXPECT_FALSE(parse_duration_ms("9999999999s"));
}

TEST(Since, TimesAreNormalisedToTheLogsFormat) {
  EXPECT_EQ(since_timestamp("2026-12-06T05:00:00Z"), "2026-12-06T05:00:00.000000000Z");
  EXPECT_EQ(since_timestamp("2026-12-06T05:00:00.5Z"), "2026-12-06T05:00:00.500000000Z");
  EXPECT_FALSE(since_timestamp("2026-12-06 05:00:00Z"));
  EXPECT_FALSE(since_timestamp("2026-12-06T05:00:00+01:00"));
  EXPECT_FALSE(since_timestamp("yesterday"));
}

TEST(Since, ADurationIsBeforeNow) {
  auto ten_minutes_ago = since_timestamp("10m");
  auto now = since_timestamp("0s");
  ASSERT_TRUE(ten_minutes_ago && now);
  EXPECT_LT(*ten_minutes_ago, *now);
  EXPECT_EQ(ten_minutes_ago->size(), 30u);
}

}  // namespace
}  // namespace nucleus::service
