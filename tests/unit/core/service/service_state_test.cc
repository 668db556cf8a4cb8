#include "core/service/service_state.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "core/service/events.h"
#include "core/sys/error.h"

namespace nucleus::service {
namespace {

class ServiceStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nucleus-unit-svc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(ServiceStateTest, JsonRoundTrip) {
  ServiceState s;
  s.status = "running";
  s.exit_code = 3;
  s.restart_count = 7;
  s.health = "healthy";
  s.pid = 42;
  ServiceState back = state_from_json(state_to_json(s));
  EXPECT_EQ(back.status, "running");
  EXPECT_EQ(back.exit_code, 3);
  EXPECT_EQ(back.restart_count, 7u);
  EXPECT_EQ(back.health, "healthy");
  EXPECT_EQ(back.pid, 42);
  EXPECT_THROW(state_from_json("{"), Error);
}

// The monitor's cgroup and the last checks survive the file; a check's output that is not
// UTF-8 cannot break it (U+FFFD instead).
TEST_F(ServiceStateTest, HealthLogAndMonitorCgroupRoundTrip) {
  ServiceState s;
  s.monitor_cgroup = {"/sys/fs/cgroup/pids/nucleus-9-monitor"};
  s.health_log.push_back({"t1", "t2", 1, "out\n"});
  s.health_log.push_back({"t3", "t4", -1, std::string("bad \xff byte")});
  ServiceState back = state_from_json(state_to_json(s));
  EXPECT_EQ(back.monitor_cgroup, s.monitor_cgroup);
  ASSERT_EQ(back.health_log.size(), 2u);
  EXPECT_EQ(back.health_log[0].start, "t1");
  EXPECT_EQ(back.health_log[0].end, "t2");
  EXPECT_EQ(back.health_log[0].exit_code, 1);
  EXPECT_EQ(back.health_log[0].output, "out\n");
  EXPECT_EQ(back.health_log[1].exit_code, -1);
  EXPECT_EQ(back.health_log[1].output, "bad \xef\xbf\xbd byte");
}

// What the events say of how a container ended.
TEST(Events, DieAttributesNameTheEnd) {
  EXPECT_EQ(describe_exit(0, false), "exited");
  EXPECT_EQ(describe_exit(3, false), "exited");
  EXPECT_EQ(describe_exit(128 + 15, false), "signal SIGTERM");
  EXPECT_EQ(describe_exit(137, true), "oom");
  auto a = die_attributes(137, false);
  EXPECT_EQ(a.at("exit_code"), "137");
  EXPECT_EQ(a.at("reason"), "signal SIGKILL");
  EXPECT_EQ(a.at("oom"), "false");
  EXPECT_EQ(die_attributes(143, false, "stopped").at("reason"), "stopped");
  EXPECT_FALSE(parse_event("not json").has_value());
  auto e = parse_event(event_line("2026-12-06T05:00:00.000000000Z", "x", "start", {{"k", "v"}}));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, "start");
  EXPECT_EQ(e->attributes.at("k"), "v");
  // Written without a JSON library: what needs escaping is escaped.
  const std::string odd = "q\"b\\s\nc\x01";
  auto back = parse_event(event_line("t", odd, "die", {{"reason", odd}}));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, odd);
  EXPECT_EQ(back->attributes.at("reason"), odd);
  EXPECT_EQ(event_to_json({"t", "i", "start", {}}), R"({"attributes":{},"id":"i","time":"t","type":"start"})");
}

TEST_F(ServiceStateTest, AnIdIsClaimedOnce) {
  std::string dir = claim_service_dir(root_, "web");
  EXPECT_THROW(claim_service_dir(root_, "web"), Error);
  EXPECT_EQ(list_services(root_), std::vector<std::string>{"web"});
  remove_service_dir(root_, "web");
  EXPECT_TRUE(list_services(root_).empty());
  EXPECT_FALSE(std::filesystem::exists(services_root(root_)));  // left empty: gone
}

// A monitor that died (its lock free) while its state said running is shown exited.
TEST_F(ServiceStateTest, ADeadMonitorMeansExited) {
  std::string dir = claim_service_dir(root_, "db");
  ServiceState s;
  s.status = "running";
  s.health = "healthy";
  s.pid = 99;
  write_state(dir, s);
  pid_t child = ::fork();
  if (child == 0) {
    UniqueFd lock = take_monitor_lock(dir);
    ::pause();
    ::_exit(0);
  }
  while (!monitor_alive(dir)) ::usleep(1000);
  EXPECT_EQ(read_state(dir).status, "running");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(monitor_alive(dir));
  ServiceState after = read_state(dir);
  EXPECT_EQ(after.status, "exited");
  EXPECT_EQ(after.reason, "monitor died");
  EXPECT_EQ(after.pid, 0);
}

TEST_F(ServiceStateTest, EventsAppendInOrderAndStayBounded) {
  record_event(root_, "a", "start", {{"k", "v"}});
  record_event(root_, "a", "die", {{"exit_code", "1"}});
  auto events = read_events(root_);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "start");
  EXPECT_EQ(events[0].attributes.at("k"), "v");
  EXPECT_EQ(events[1].attributes.at("exit_code"), "1");
  EXPECT_LE(events[0].time, events[1].time);
  std::string big(2000, 'x');
  for (int i = 0; i < 3000; ++i) record_event(root_, "b", "health_status", {{"pad", big}});
  uint64_t total = std::filesystem::file_size(root_ + "/.events") + std::filesystem::file_size(root_ + "/.events.1");
  EXPECT_LE(total, 2 * kMaxEventBytes + 8192);
}

}  // namespace
}  // namespace nucleus::service
