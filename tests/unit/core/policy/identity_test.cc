#include "core/policy/identity.h"

#include <gtest/gtest.h>

#include "core/sys/error.h"

namespace nucleus {
namespace {

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "app:x:1000:1001:app:/home/app:/bin/sh\n"
    "broken line\n";
constexpr const char* kGroup = "root:x:0:\ntty:x:5:\napp:x:1001:\nextra:x:2000:app\n";

TEST(Identity, ParsesNumbersAndNames) {
  UserSpec s = parse_user_spec("1000:1000", "--user");
  EXPECT_EQ(s.user.number, 1000u);
  EXPECT_EQ(s.group->number, 1000u);
  s = parse_user_spec("app", "--user");
  EXPECT_EQ(s.user.name, "app");
  EXPECT_FALSE(s.group);
  s = parse_user_spec("4294967294:app", "--user");
  EXPECT_EQ(s.user.number, 4294967294u);
  EXPECT_EQ(s.group->name, "app");
}

TEST(Identity, RefusesMalformedSpecs) {
  for (const std::string& bad :
       {std::string(), std::string("1000:"), std::string(":0"), std::string("abc:1x"), std::string("-1"),
        std::string("1x"), std::string("4294967295"), std::string("1 000"), std::string(" 1"),
        std::string("1000:1000:1000"), std::string("Root"), std::string("a\0b", 3),
        std::string("99999999999999999999")}) {
    EXPECT_THROW(parse_user_spec(bad, "--user"), Error) << bad;
  }
  try {
    parse_user_spec("1000:", "--user");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--user: empty group");
  }
}

TEST(Identity, ResolvesAgainstTheContainersFiles) {
  Identity id = resolve_identity(parse_user_spec("app", "--user"), {}, kPasswd, kGroup);
  EXPECT_EQ(id.uid, 1000u);
  EXPECT_EQ(id.gid, 1001u);  // primary group from passwd
  EXPECT_EQ(id.home, "/home/app");
  EXPECT_TRUE(id.groups.empty());  // membership in /etc/group is not inherited

  id = resolve_identity(parse_user_spec("1000:extra", "--user"), {parse_group_ref("tty", "g"), parse_group_ref("7", "g")},
                        kPasswd, kGroup);
  EXPECT_EQ(id.gid, 2000u);
  EXPECT_EQ(id.groups, (std::vector<gid_t>{5, 7}));

  id = resolve_identity(parse_user_spec("4242", "--user"), {}, kPasswd, kGroup);
  EXPECT_EQ(id.uid, 4242u);
  EXPECT_EQ(id.gid, 0u);  // no passwd entry: gid 0, like runc
  EXPECT_EQ(id.home, "/");

  id = resolve_identity(std::nullopt, {}, kPasswd, kGroup);
  EXPECT_EQ(id.uid, 0u);
  EXPECT_EQ(id.home, "/root");
}

TEST(Identity, UnknownNamesAreErrors) {
  EXPECT_THROW(resolve_identity(parse_user_spec("nobody", "u"), {}, kPasswd, kGroup), Error);
  EXPECT_THROW(resolve_identity(parse_user_spec("0:wheel", "u"), {}, kPasswd, kGroup), Error);
  EXPECT_THROW(resolve_identity(std::nullopt, {parse_group_ref("docker", "g")}, kPasswd, kGroup), Error);
  EXPECT_THROW(resolve_identity(parse_user_spec("app", "u"), {}, "", ""), Error);
}

}  // namespace
}  // namespace nucleus
