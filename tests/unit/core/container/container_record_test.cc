// Named-container records: one running container per name, stale records collected, the
// state file round-trips, corruption is an error.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/container/container_record.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"

namespace nucleus {
namespace {

ContainerRecord record(const std::string& name) {
  return ContainerRecord{.name = name, .backend = "native", .nucleus_pid = ::getpid()};
}

TEST(ContainerRecord, JsonRoundTrip) {
  ContainerRecord r = record("web");
  r.status = "stopped";
  r.cgroup = {"/sys/fs/cgroup/pids/nucleus-1-abc"};
  r.exit_code = 137;
  r.oom_killed = true;
  ContainerRecord back = record_from_json(to_json(r));
  EXPECT_EQ(back.name, "web");
  EXPECT_EQ(back.status, "stopped");
  EXPECT_EQ(back.cgroup, r.cgroup);
  EXPECT_EQ(back.exit_code, 137);
  EXPECT_TRUE(back.oom_killed);
  EXPECT_THROW(record_from_json("{\"name\": 3}"), Error);
  EXPECT_THROW(record_from_json("not json"), Error);
}

TEST(ContainerRecord, OneContainerPerId) {
  TempDir root("/tmp", "nucleus-unit-");
  {
    LockedContainer first = LockedContainer::claim(root.path(), record("web"));
    first.record().status = "running";
    first.save();
    first.keep();
    EXPECT_EQ(read_container(root.path(), "web").status, "running");
    EXPECT_FALSE(record_is_stale(first.path())) << "its owner holds it";
    try {
      LockedContainer second = LockedContainer::claim(root.path(), record("web"));
      FAIL() << "an id is unique among containers";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "--name: 'web' is already in use by a running container");
    }
    LockedContainer other = LockedContainer::claim(root.path(), record("db"));  // other ids are free
    first.remove();
  }
  // Both records went: the kept one by remove(), the other unkept with its claim.
  EXPECT_TRUE(std::filesystem::is_empty(root.path()));
  EXPECT_THROW(read_container(root.path(), "web"), Error);
}

TEST(ContainerRecord, AnOwnedRecordIsStaleOnceItsOwnerIsGone) {
  TempDir root("/tmp", "nucleus-unit-");
  // What a SIGKILLed nucleus leaves: the directory and an owner lock nobody holds.
  std::string dir = root.path() + "/web";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::ofstream(dir + "/lock").put('\n');
  std::ofstream(dir + "/owner").put('\n');
  std::ofstream(dir + "/state.json") << to_json(record("web"));
  EXPECT_TRUE(record_is_stale(dir));
  LockedContainer fresh = LockedContainer::claim(root.path(), record("web"));
  EXPECT_EQ(fresh.path(), dir);
  EXPECT_EQ(read_container(root.path(), "web").nucleus_pid, ::getpid());
  EXPECT_FALSE(record_is_stale(dir));
}

TEST(ContainerRecord, AnOciRecordIsNeverStale) {
  TempDir root("/tmp", "nucleus-unit-");
  ContainerRecord r = record("oci1");
  r.persistent = true;
  {
    LockedContainer c = LockedContainer::claim(root.path(), r);
    c.keep();
  }
  EXPECT_FALSE(record_is_stale(root.path() + "/oci1"));  // it waits for delete
  LockedContainer opened(root.path(), "oci1");
  EXPECT_TRUE(opened.record().persistent);
  try {
    LockedContainer::claim(root.path(), r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "oci1: a container with this id already exists");
  }
}

TEST(ContainerRecord, UnknownIdsSayTheContainerDoesNotExist) {
  TempDir root("/tmp", "nucleus-unit-");
  try {
    LockedContainer c(root.path(), "nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "nope: container does not exist");  // runc's words, which containerd matches
  }
}

TEST(ContainerRecord, NamesCannotLeaveTheRoot) {
  TempDir root("/tmp", "nucleus-unit-");
  for (const char* bad : {"", "..", ".hidden", "a/b"}) {
    EXPECT_THROW(LockedContainer::claim(root.path(), record(bad)), Error) << bad;
  }
}

// What nucleus reads back is checked against what it writes (issue 13): a record naming
// another cgroup is refused before anything acts on it.
TEST(ContainerRecord, ARecordNamingAnotherCgroupIsRefused) {
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

TEST(ContainerRecord, ATamperedRecordIsNotRead) {
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

TEST(ContainerRecord, RecordsAreBornBeforeTheirProcesses) {
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

TEST(ContainerRecord, AbandonedRecordsAreCollectedAndFreshOnesAreNot) {
  TempDir root("/tmp", "nucleus-unit-");
  auto make = [&](const std::string& name, time_t age) {
    std::string dir = root.path() + "/" + name;
    std::filesystem::create_directories(dir);
    timespec times[2] = {{::time(nullptr) - age, 0}, {::time(nullptr) - age, 0}};
    ::utimensat(AT_FDCWD, dir.c_str(), times, 0);
    return dir;
  };
  std::string abandoned = make("abandoned", 600);
  std::string fresh = make("fresh", 0);
  std::string gone = make(".gone-x-1-1", 600);
  std::string with_runsc = root.path() + "/sandboxed";
  std::filesystem::create_directories(with_runsc + "/runsc/state");
  make("sandboxed", 600);
  LockedContainer live = LockedContainer::claim(root.path(), record("live"));
  live.keep();
  timespec old[2] = {{::time(nullptr) - 600, 0}, {::time(nullptr) - 600, 0}};
  ::utimensat(AT_FDCWD, live.path().c_str(), old, 0);
  collect_abandoned_records(root.path());
  EXPECT_FALSE(std::filesystem::exists(abandoned));
  EXPECT_FALSE(std::filesystem::exists(gone));
  EXPECT_TRUE(std::filesystem::exists(fresh)) << "a record being made";
  EXPECT_TRUE(std::filesystem::exists(with_runsc)) << "runsc's state wants runsc delete";
  EXPECT_TRUE(std::filesystem::exists(live.path())) << "its owner holds it";
  live.remove();
}

TEST(ContainerRecord, GeneratedIdsAreTwelveHexDigits) {
  std::string a = generate_container_id(), b = generate_container_id();
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace nucleus
