// Named-container records: one running container per name, stale records collected, the
// state file round-trips, corruption is an error.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

TEST(ContainerRecord, OneRunningContainerPerName) {
  TempDir root("/tmp", "nucleus-unit-");
  {
    NamedContainer first(root.path(), record("web"));
    first.record().status = "running";
    first.save();
    EXPECT_EQ(read_running_container(root.path(), "web").status, "running");
    try {
      NamedContainer second(root.path(), record("web"));
      FAIL() << "a name is unique among running containers";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "--name: 'web' is already in use by a running container");
    }
    NamedContainer other(root.path(), record("db"));  // other names are free
  }
  // Both records went with their owners; nothing else is left in the root.
  EXPECT_TRUE(std::filesystem::is_empty(root.path()));
  EXPECT_THROW(read_running_container(root.path(), "web"), Error);
}

TEST(ContainerRecord, StaleRecordIsCollected) {
  TempDir root("/tmp", "nucleus-unit-");
  // What a SIGKILLed nucleus leaves: the directory and an unlocked lock file.
  std::string dir = root.path() + "/web";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::ofstream(dir + "/lock").put('\n');
  std::ofstream(dir + "/state.json") << to_json(record("web"));
  EXPECT_THROW(read_running_container(root.path(), "web"), Error);  // nobody holds it
  NamedContainer fresh(root.path(), record("web"));
  EXPECT_EQ(fresh.path(), dir);
  EXPECT_EQ(read_running_container(root.path(), "web").nucleus_pid, ::getpid());
}

TEST(ContainerRecord, NamesCannotLeaveTheRoot) {
  TempDir root("/tmp", "nucleus-unit-");
  for (const char* bad : {"", "..", ".hidden", "a/b"}) {
    EXPECT_THROW(NamedContainer(root.path(), record(bad)), Error) << bad;
  }
}

}  // namespace
}  // namespace nucleus
