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
#include "tests/support/record.h"

namespace nucleus {
namespace {

using test::record;

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
