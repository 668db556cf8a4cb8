#pragma once

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace nucleus::test {

// Every integration test runs under this fixture: it requires root (skipping loudly
// otherwise) and fails the test if the run left a mount, state entry, temp dir or process
// behind.
class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "integration tests start real containers and need root";
    before_ = take_leak_snapshot();
  }
  void TearDown() override {
    if (!is_root()) return;
    LeakSnapshot after = take_leak_snapshot();
    EXPECT_TRUE(before_ == after) << describe_difference(before_, after);
  }
  // What the machine held before the test, for tests that wait for a cleanup to finish.
  const LeakSnapshot& baseline() const { return before_; }

 private:
  LeakSnapshot before_;
};

}  // namespace nucleus::test
