// Where a mount lands (child/mount_target.h), on a real directory standing for the root
// being built: openat2(RESOLVE_IN_ROOT) needs no privilege.
#include "backends/native/child/mount_target.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/sys/scoped.h"
#include "core/sys/unique_fd.h"

namespace nucleus::native {
namespace {

namespace fs = std::filesystem;

class MountTarget : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    fs::create_directories(dir_ + "/root/etc");
    fs::create_directories(dir_ + "/outside");
    root_ = UniqueFd(::open((dir_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_);
  }

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

  TempDir tmp_{"/tmp", "nucleus-unit-target-"};
  std::string dir_;
  UniqueFd root_;
};

TEST_F(MountTarget, AMissingEntryIsMadeWithItsParents) {
  EXPECT_EQ(opened("etc/hostname"), root() + "/etc/hostname");
  EXPECT_TRUE(fs::is_regular_file(root() + "/etc/hostname"));
  EXPECT_EQ(opened("data/cache", TargetKind::kDirectory), root() + "/data/cache");
  EXPECT_TRUE(fs::is_directory(root() + "/data/cache"));
}

// A link whose target is missing is refused, and nothing is made where it leads (it could
// lead into a volume of the host's): runc 1.2's answer.
TEST_F(MountTarget, ALinkWhoseTargetIsMissingIsRefusedAndNothingIsMade) {
  link("../run/systemd/resolve/stub-resolv.conf", "etc/resolv.conf");
  EXPECT_EQ(opened("etc/resolv.conf"), "errno " + std::to_string(ENOENT));
  EXPECT_FALSE(fs::exists(root() + "/run"));
  // A link that leads somewhere is followed, inside the root.
  std::ofstream(root() + "/etc/hosts.real") << "image";
  link("/etc/hosts.real", "etc/hosts");
  EXPECT_EQ(opened("etc/hosts"), root() + "/etc/hosts.real");
  // Kernel filesystems' mount points follow none.
  EXPECT_EQ(opened("etc/hosts", TargetKind::kFile, true), "errno " + std::to_string(ELOOP));
}

// systemd-resolved's images: /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf.
// A bridge's files replace the link by a file of the root's own, dangling or not; what it
// led to stays as it was.
TEST_F(MountTarget, ReplaceLinkLeavesAFileOfTheRootsOwnAndTheTargetAlone) {
  link("../run/systemd/resolve/stub-resolv.conf", "etc/resolv.conf");
  fs::create_directories(root() + "/run");
  std::ofstream(root() + "/run/hosts") << "image";
  link("../run/hosts", "etc/hosts");
  link("../../outside", "etc/hostname");
  for (const char* file : {"etc/resolv.conf", "etc/hosts", "etc/hostname"}) {
    EXPECT_EQ(replace_link(root_.get(), file), 0) << file;
    EXPECT_EQ(opened(file), root() + "/" + file);
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root() + "/" + file))) << file;
  }
  EXPECT_EQ(fs::file_size(root() + "/run/hosts"), 5u);
  EXPECT_FALSE(fs::exists(root() + "/run/systemd"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/outside"));
  // Nothing there, or a file: left as it is.
  EXPECT_EQ(replace_link(root_.get(), "etc/none"), 0);
  EXPECT_EQ(replace_link(root_.get(), "missing/none"), 0);
  EXPECT_EQ(replace_link(root_.get(), "run/hosts"), 0);
  EXPECT_EQ(fs::file_size(root() + "/run/hosts"), 5u);
}

}  // namespace
}  // namespace nucleus::native
