// The part the fixtures of real bridge containers share (network_container_test.cc,
// network_prepared_fixture.h): a lab made before each test (root only), and after it the
// containers left running ended and nothing of their networks left, a standby's teardown
// included (settled_leftovers() ends the lab's netd servers first).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "tests/integration/network_lab.h"

namespace nucleus::test {

template <class Base = ::testing::Test>
class WithNetworkLab : public Base {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network tests make namespaces, veths and nftables tables: root only";
    lab_ = std::make_unique<NetworkLab>();
  }
  void TearDown() override {
    for (pid_t pid : background_) NetworkLab::end_in_host(pid);
    if (lab_) {
      EXPECT_EQ(lab_->settled_leftovers(), "") << "a container's network, or a standby, outlived it";
    }
    lab_.reset();
  }

  std::unique_ptr<NetworkLab> lab_;
  std::vector<pid_t> background_;  // containers started in the lab's host namespace, ended at TearDown
};

}  // namespace nucleus::test
