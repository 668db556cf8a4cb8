// sys::drop_at_idle: what start-up alone needed is freed once, when an idle nucleus gives
// its start-up memory back, and never after the registration was withdrawn.
#include <gtest/gtest.h>

#include "core/sys/sys.h"

namespace nucleus {
namespace {

TEST(IdleRelease, TheRegisteredReleaseRunsOnceAtIdle) {
  int released = 0;
  sys::drop_at_idle([&released] { ++released; });
  EXPECT_EQ(released, 0);
  sys::give_back_startup_memory();
  EXPECT_EQ(released, 1);
  sys::give_back_startup_memory();
  EXPECT_EQ(released, 1);
}

TEST(IdleRelease, AWithdrawnReleaseNeverRuns) {
  int released = 0;
  sys::drop_at_idle([&released] { ++released; });
  sys::drop_at_idle(nullptr);  // the verb returned: what it captured is gone
  sys::give_back_startup_memory();
  EXPECT_EQ(released, 0);
}

}  // namespace
}  // namespace nucleus
