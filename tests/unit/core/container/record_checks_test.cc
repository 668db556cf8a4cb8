// The checks a record read back passes before nucleus acts on it (issue 13):
// core/container/record_checks.h.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/container/container_record.h"
#include "core/container/record_checks.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "tests/support/record.h"

namespace nucleus {
namespace {

using test::record;

TEST(RecordChecks, ARecordNamingAnotherCgroupIsRefused) {
  const std::vector<std::string> mounts = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"};
  const std::vector<std::string> own = {"/sys/fs/cgroup/memory/me", "/sys/fs/cgroup/pids"};
  ContainerRecord r = record("web");
  r.nucleus_pid = 4242;
  auto problem = [&](std::vector<std::string> dirs) {
    ContainerRecord x = r;
    x.cgroup = std::move(dirs);
    return record_problem(x, "web", mounts, own);
  };
  EXPECT_EQ(problem({"/sys/fs/cgroup/memory/me/nucleus-4242-0a1b2c", "/sys/fs/cgroup/pids/nucleus-4242-0a1b2c"}), std::nullopt);
  EXPECT_EQ(problem({"/sys/fs/cgroup/pids/x/nucleus-oci-web"}), std::nullopt);
  EXPECT_NE(problem({"/sys/fs/cgroup/pids/sshd.service"}), std::nullopt) << "not nucleus's naming";
  EXPECT_NE(problem({"/sys/fs/cgroup/pids/nucleus-4243-0a1b2c"}), std::nullopt) << "another nucleus's pid";
  EXPECT_NE(problem({"/sys/fs/cgroup/pids/nucleus-oci-db"}), std::nullopt) << "another container's";
  EXPECT_NE(problem({"/sys/fs/cgroup/pids/../pids/nucleus-oci-web"}), std::nullopt) << "'..'";
  EXPECT_NE(problem({"/sys/fs/cgroup/pids//nucleus-oci-web"}), std::nullopt) << "'//'";
  EXPECT_NE(problem({"/tmp/nucleus-oci-web"}), std::nullopt) << "not below a hierarchy";
  EXPECT_NE(problem({"/sys/fs/cgroup/pids"}), std::nullopt) << "a hierarchy's root";
  EXPECT_NE(problem({"/sys/fs/cgroup/memory/me"}), std::nullopt) << "nucleus's own cgroup";
  EXPECT_NE(problem({"/sys/fs/cgroup/pids/nucleus-oci-web", "/sys/fs/cgroup/memory/nucleus-4242-0a1b2c"}), std::nullopt)
      << "two containers' cgroups";
  // A config's cgroupsPath is the name there is.
  r.cgroups_path = "/kubepods/pod1/ctr";
  EXPECT_EQ(problem({"/sys/fs/cgroup/pids/kubepods/pod1/ctr"}), std::nullopt);
  EXPECT_NE(problem({"/sys/fs/cgroup/pids/kubepods/pod1/other"}), std::nullopt);
  r.cgroups_path = "../../etc";
  EXPECT_NE(problem({"/sys/fs/cgroup/pids/etc"}), std::nullopt);
  // The words and the name.
  ContainerRecord words = record("web");
  words.status = "exploded";
  EXPECT_NE(record_problem(words, "web", mounts, own), std::nullopt);
  words = record("web");
  words.backend = "qemu";
  EXPECT_NE(record_problem(words, "web", mounts, own), std::nullopt);
  EXPECT_NE(record_problem(record("web"), "db", mounts, own), std::nullopt);
  // The record survives the round trip with its cgroupsPath.
  EXPECT_EQ(record_from_json(to_json(r)).cgroups_path, "../../etc");
}

TEST(RecordChecks, ATamperedRecordIsNotRead) {
  TempDir root("/tmp", "nucleus-unit-");
  {
    LockedContainer c = LockedContainer::claim(root.path(), record("web"));
    c.record().cgroup = {"/sys/fs/cgroup/pids/init.scope"};
    c.save();
    c.keep();
  }
  EXPECT_THROW(read_container(root.path(), "web"), Error);
  EXPECT_THROW(LockedContainer(root.path(), "web"), Error);
  LockedContainer forced(root.path(), "web", /*tolerate_corruption=*/true);
  EXPECT_TRUE(forced.corrupted());
  EXPECT_TRUE(forced.record().cgroup.empty()) << "nothing of it is believed";
  forced.remove();
}

TEST(RecordChecks, RecordsAreBornBeforeTheirProcesses) {
  TempDir root("/tmp", "nucleus-unit-");
  std::optional<uint64_t> birth = record_birth_ticks(root.path());
  if (!birth) GTEST_SKIP() << "this filesystem keeps no birth time";
  auto self = [] {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 22; ++i) fields >> field;
    return std::stoull(field);
  }();
  EXPECT_GE(*birth + 200, self) << "this process started before the directory, and within seconds of it";
}

}  // namespace
}  // namespace nucleus
