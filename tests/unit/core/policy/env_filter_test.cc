#include "core/policy/env_filter.h"

#include <gtest/gtest.h>

namespace nucleus {
namespace {

TEST(EnvFilter, BaseVariablesOnlyByDefault) {
  BaseEnvironment base;
  base.home = "/home/app";
  base.term = "xterm";
  Environment env = build_environment(base, {});
  EXPECT_EQ(env.entries, (std::vector<std::string>{std::string("PATH=") + std::string(kDefaultPath),
                                                   "HOME=/home/app", "TERM=xterm"}));
  EXPECT_TRUE(env.dropped.empty());
}

TEST(EnvFilter, UserVariablesAddAndOverride) {
  Environment env = build_environment({}, {{"A", "1"}, {"PATH", "/opt/bin"}, {"A", "2"}});
  EXPECT_EQ(env.entries, (std::vector<std::string>{"PATH=/opt/bin", "HOME=/", "A=2"}));
}

TEST(EnvFilter, LoaderVariablesAreDropped) {
  std::vector<std::pair<std::string, std::string>> user = {
      {"LD_PRELOAD", "/x.so"},  {"LD_LIBRARY_PATH", "/x"}, {"LD_AUDIT", "/x"},
      {"LD_DEBUG", "all"},      {"LD_PROFILE", "x"},       {"LD_DYNAMIC_WEAK", "1"},
      {"LD_SHOW_AUXV", "1"},    {"LD_FUTURE_THING", "1"},  {"GCONV_PATH", "/x"},
      {"GLIBC_TUNABLES", "x"},  {"MALLOC_TRACE", "/x"},    {"LD_PRELOAD", "/y.so"},
      {"KEEP", "me"},
  };
  Environment env = build_environment({}, user);
  EXPECT_EQ(env.entries.back(), "KEEP=me");
  EXPECT_EQ(env.entries.size(), 3u);
  EXPECT_EQ(env.dropped.size(), 11u);  // LD_PRELOAD once
  EXPECT_EQ(env.dropped.front(), "LD_PRELOAD");
}

TEST(EnvFilter, BlockedNames) {
  EXPECT_TRUE(is_blocked_env_name("LD_PRELOAD"));
  EXPECT_TRUE(is_blocked_env_name("LD_"));
  EXPECT_TRUE(is_blocked_env_name("GLIBC_TUNABLES"));
  EXPECT_FALSE(is_blocked_env_name("OLD_PRELOAD"));
  EXPECT_FALSE(is_blocked_env_name("ld_preload"));
  EXPECT_FALSE(is_blocked_env_name("PATH"));
}

TEST(EnvFilter, Term) {
  EXPECT_EQ(sanitize_term("xterm-256color"), "xterm-256color");
  EXPECT_EQ(sanitize_term(nullptr), "");
  EXPECT_EQ(sanitize_term("x;rm -rf /"), "");
  EXPECT_EQ(sanitize_term(std::string(65, 'x').c_str()), "");
}

}  // namespace
}  // namespace nucleus
