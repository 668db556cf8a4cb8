// The checks every cache nucleus trusts gets (issue 13): no symlink followed, nobody else's
// directory or file believed, writes never through a planted name.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/sys/private_dir.h"
#include "core/sys/scoped.h"
#include "tests/support/slurp.h"

namespace nucleus::sys {
namespace {

using test::slurp;

namespace fs = std::filesystem;

TEST(PrivateDir, MakesItsDirectoriesAndReadsWhatItWrote) {
  TempDir base("/tmp", "nucleus-unit-");
  std::string why;
  bool hostile = false;
  auto dir = PrivateDir::open(base.path(), {"nucleus", "kind"}, &why, &hostile);
  ASSERT_TRUE(dir) << why;
  EXPECT_EQ(dir->path(), base.path() + "/nucleus/kind");
  EXPECT_EQ(fs::status(dir->path()).permissions() & fs::perms::all, fs::perms::owner_all);
  ASSERT_TRUE(dir->write("entry", "bytes"));
  EXPECT_EQ(dir->read("entry", 100), "bytes");
  EXPECT_EQ(dir->read("entry", 2), std::nullopt) << "larger than asked";
  EXPECT_EQ(dir->read("absent", 100), std::nullopt);
}

TEST(PrivateDir, ASymlinkAnywhereIsRefused) {
  TempDir base("/tmp", "nucleus-unit-");
  TempDir elsewhere("/tmp", "nucleus-unit-");
  fs::create_symlink(elsewhere.path(), base.path() + "/nucleus");
  std::string why;
  bool hostile = false;
  EXPECT_FALSE(PrivateDir::open(base.path(), {"nucleus", "kind"}, &why, &hostile));
  EXPECT_TRUE(hostile);
  EXPECT_EQ(why, base.path() + "/nucleus is a symlink or not a directory");
  EXPECT_TRUE(fs::is_empty(elsewhere.path())) << "nothing made through it";
  // A symlinked base is refused too.
  EXPECT_FALSE(PrivateDir::open(base.path() + "/nucleus", {"kind"}, &why, &hostile));
  EXPECT_TRUE(hostile);
}

TEST(PrivateDir, WritableByOthersIsRefused) {
  TempDir base("/tmp", "nucleus-unit-");
  fs::create_directories(base.path() + "/nucleus");
  ::chmod((base.path() + "/nucleus").c_str(), 0777);
  std::string why;
  bool hostile = false;
  EXPECT_FALSE(PrivateDir::open(base.path(), {"nucleus", "kind"}, &why, &hostile));
  EXPECT_TRUE(hostile);
  EXPECT_EQ(why, base.path() + "/nucleus is writable by group or others");
}

TEST(PrivateDir, PlantedEntriesAreNeitherReadNorWrittenThrough) {
  TempDir base("/tmp", "nucleus-unit-");
  std::string why;
  bool hostile = false;
  auto dir = PrivateDir::open(base.path(), {"c"}, &why, &hostile);
  ASSERT_TRUE(dir) << why;
  TempDir elsewhere("/tmp", "nucleus-unit-");
  std::string target = elsewhere.path() + "/target";
  std::ofstream(target) << "untouched";
  fs::create_symlink(target, dir->path() + "/link");
  EXPECT_EQ(dir->read("link", 100), std::nullopt) << "a symlink is not followed";
  fs::create_symlink(target, dir->path() + "/entry.tmp");
  fs::create_symlink(target, dir->path() + "/.entry.tmp");
  ASSERT_TRUE(dir->write("entry", "new"));
  EXPECT_EQ(slurp(target), "untouched");
  EXPECT_EQ(dir->read("entry", 100), "new");
  std::ofstream(dir->path() + "/open") << "x";
  ::chmod((dir->path() + "/open").c_str(), 0666);
  EXPECT_EQ(dir->read("open", 100), std::nullopt) << "writable by others";
  ASSERT_TRUE(dir->write("link", "replaced"));  // the link itself is replaced, not followed
  EXPECT_EQ(slurp(target), "untouched");
}

TEST(PrivateDir, AMissingBaseIsNotHostile) {
  std::string why;
  bool hostile = true;
  EXPECT_FALSE(PrivateDir::open("/nonexistent-nucleus-base", {"kind"}, &why, &hostile));
  EXPECT_FALSE(hostile);
}

}  // namespace
}  // namespace nucleus::sys
