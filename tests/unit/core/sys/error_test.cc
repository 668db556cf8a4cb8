// An error is one line a person reads: what it quotes is capped (issue 13).
#include <gtest/gtest.h>

#include "core/sys/error.h"

namespace nucleus {
namespace {

TEST(Error, QuotesAreCapped) {
  EXPECT_EQ(capped("short"), "short");
  EXPECT_EQ(capped(std::string(300, 'x'), 10), "xxxxxxxxxx... (290 more bytes)");
  // Whole UTF-8 characters only.
  EXPECT_EQ(capped("aé", 2), "a... (2 more bytes)");
  Error e("step", std::string(100000, 'd'));
  EXPECT_LE(std::string(e.what()).size(), kMaxErrorMessage + 40);
  EXPECT_NE(std::string(e.what()).find("more bytes)"), std::string::npos);
}

}  // namespace
}  // namespace nucleus
