// Where a mount lands (child/mount_target.h), on a real directory standing for the root
// being built: openat2(RESOLVE_IN_ROOT) needs no privilege.
#include "backends/native/child/mount_target.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "core/sys/unique_fd.h"

namespace nucleus::native {
namespace {

namespace fs = std::filesystem;

class MountTarget : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nucleus-unit-target-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/root/etc");
    fs::create_directories(dir_ + "/outside");
    root_ = UniqueFd(::open((dir_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void link(const std::string& text, const std::string& at) {
    ASSERT_EQ(::symlink(text.c_str(), (dir_ + "/root/" + at).c_str()), 0) << at;
  }
  // What open_or_create_at gave: the path of the entry it opened, seen from the host.
  std::string opened(const char* rel, TargetKind kind = TargetKind::kFile, bool no_symlinks = false) {
    UniqueFd fd(open_or_create_at(root_.get(), rel, kind, no_symlinks));
    if (!fd) return "errno " + std::to_string(errno);
    return fs::read_symlink("/proc/self/fd/" + std::to_string(fd.get())).string();
  }
  std::string root() const { return dir_ + "/root"; }

  std::string dir_;
  UniqueFd root_;
};

TEST_F(MountTarget, AMissingEntryIsMadeWithItsParents) {
  EXPECT_EQ(opened("etc/hostname"), root() + "/etc/hostname");
  EXPECT_TRUE(fs::is_regular_file(root() + "/etc/hostname"));
  EXPECT_EQ(opened("data/cache", TargetKind::kDirectory), root() + "/data/cache");
  EXPECT_TRUE(fs::is_directory(root() + "/data/cache"));
}

// systemd-resolved's images: /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf,
// /run empty. The mount point is made where the link leads; the link stays.
TEST_F(MountTarget, ALinkWhoseTargetIsMissingHasItsTargetMadeInsideTheRoot) {
  link("../run/systemd/resolve/stub-resolv.conf", "etc/resolv.conf");
  EXPECT_EQ(opened("etc/resolv.conf"), root() + "/run/systemd/resolve/stub-resolv.conf");
  EXPECT_TRUE(fs::is_symlink(root() + "/etc/resolv.conf"));
  // Absolute, and through a chain of two links: still from the root's own "/".
  link("/etc/hosts.real", "etc/hosts");
  link("/run/hosts-data", "etc/hosts.real");
  EXPECT_EQ(opened("etc/hosts"), root() + "/run/hosts-data");
  EXPECT_FALSE(fs::exists("/run/hosts-data"));
}

TEST_F(MountTarget, ALinkCannotLeadOutOfTheRoot) {
  link("../../../outside/file", "etc/resolv.conf");
  EXPECT_EQ(opened("etc/resolv.conf"), root() + "/outside/file");
  EXPECT_FALSE(fs::exists(dir_ + "/outside/file"));
  link("/../../outside/abs", "etc/hosts");
  EXPECT_EQ(opened("etc/hosts"), root() + "/outside/abs");
  EXPECT_FALSE(fs::exists(dir_ + "/outside/abs"));
}

TEST_F(MountTarget, LinksAreNotFollowedWhereTheyMustNotBeAndLoopsEnd) {
  link("../run/stub", "etc/resolv.conf");
  EXPECT_EQ(opened("etc/resolv.conf", TargetKind::kFile, true), "errno " + std::to_string(ELOOP));
  EXPECT_FALSE(fs::exists(root() + "/run"));
  link("b", "etc/a");
  link("a", "etc/b");
  EXPECT_EQ(opened("etc/a"), "errno " + std::to_string(ELOOP));
}

}  // namespace
}  // namespace nucleus::native
