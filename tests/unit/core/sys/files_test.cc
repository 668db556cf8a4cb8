// The small file writers of core/sys/sys.h: what a reader finds after each.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "tests/support/slurp.h"

namespace nucleus::sys {
namespace {

using test::slurp;

// The daemon's sandbox files are rewritten in place (no truncation to zero): a shorter
// content leaves nothing of the longer one behind it, and a missing file is made.
TEST(Files, OverwriteLeavesExactlyTheNewContent) {
  TempDir dir("/tmp", "nucleus-unit-");
  const std::string path = dir.path() + "/f.json";
  overwrite_file(path, "a much longer first content\n", 0600, "write");
  EXPECT_EQ(slurp(path), "a much longer first content\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const ino_t inode = st.st_ino;
  overwrite_file(path, "short\n", 0600, "write");
  EXPECT_EQ(slurp(path), "short\n");
  overwrite_file(path, "longer again, longer\n", 0600, "write");
  EXPECT_EQ(slurp(path), "longer again, longer\n");
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, inode);  // the same file, written over
}

TEST(Files, OverwriteDoesNotFollowASymlink) {
  TempDir dir("/tmp", "nucleus-unit-");
  const std::string target = dir.path() + "/target";
  overwrite_file(target, "kept\n", 0600, "write");
  ASSERT_EQ(::symlink(target.c_str(), (dir.path() + "/link").c_str()), 0);
  EXPECT_THROW(overwrite_file(dir.path() + "/link", "planted\n", 0600, "write"), Error);
  EXPECT_EQ(slurp(target), "kept\n");
}

TEST(Files, OverwriteRefusesWhatIsNotARegularFileWithoutWaiting) {
  TempDir dir("/tmp", "nucleus-unit-");
  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A FIFO without a reader: a blocking open would wait forever; the open fails (ENXIO).
  EXPECT_THROW(overwrite_file(fifo, "x\n", 0600, "write"), Error);
  // With a reader the open succeeds: nothing may be written into it before the refusal.
  UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader);
  EXPECT_THROW(overwrite_file(fifo, "x\n", 0600, "write"), Error);
  char byte;
  EXPECT_NE(::read(reader.get(), &byte, 1), 1) << "written into the FIFO";
  ASSERT_EQ(::mkdir((dir.path() + "/d").c_str(), 0700), 0);
  EXPECT_THROW(overwrite_file(dir.path() + "/d", "x\n", 0600, "write"), Error);
}

}  // namespace
}  // namespace nucleus::sys
