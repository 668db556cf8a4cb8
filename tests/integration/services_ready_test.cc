// Services (issue 17), continued: secrets out of sight, health checks and their actions,
// readiness through --sdnotify with a fake NOTIFY_SOCKET, on both backends.
#include "tests/integration/services_fixture.h"

namespace nucleus::test {
namespace {

class ServicesReady : public Services {};

TEST_P(ServicesReady, SecretsAppearOnlyAtRunSecrets) {
  const std::string id = name("secret");
  std::mt19937_64 rng(std::random_device{}());
  const std::string token = "tok" + std::to_string(rng()) + std::to_string(rng());
  const std::string file = "/tmp/nucleus-it-secret-" + std::to_string(::getpid());
  std::ofstream(file) << token;
  Result r = run_d(id, {"--secret", file + ":api", "-u", "1000:1000"},
                   {"/bin/sh", "-c", "stat -c '%a %u' /run/secrets/api; wc -c < /run/secrets/api; exec sleep 600"});
  std::filesystem::remove(file);  // read once: the service no longer needs it
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(wait_for([&] { return nucleus({"logs", id}).out.find('\n', 9) != std::string::npos; }));
  EXPECT_EQ(nucleus({"logs", id}).out, "400 1000\n" + std::to_string(token.size()) + "\n");

  std::vector<std::string> places = {nucleus({"inspect", id}).out, nucleus({"logs", id}).out, nucleus({"ps", "-a"}).out};
  json pids = json::parse(nucleus({"ps", "--format", "json", id}).out, nullptr, false);
  ASSERT_TRUE(pids.is_array());
  pids.push_back(inspect(id)["monitor_pid"]);
  for (const json& pid : pids) {
    places.push_back(slurp("/proc/" + std::to_string(pid.get<int>()) + "/environ"));
    places.push_back(slurp("/proc/" + std::to_string(pid.get<int>()) + "/cmdline"));
  }
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root_, ec); !ec && it != std::filesystem::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) places.push_back(slurp(it->path()));
  }
  for (const std::string& text : places) EXPECT_EQ(text.find(token), std::string::npos);
}

TEST_P(ServicesReady, HealthGoesStartingUnhealthyHealthy) {
  const std::string id = name("health");
  ASSERT_EQ(run_d(id, {"--health-cmd", "test -e /tmp/ok", "--health-interval", "300ms", "--health-retries", "2"},
                  {"/bin/sleep", "600"})
                .status,
            0);
  EXPECT_EQ(field(id, "health"), "starting");
  ASSERT_TRUE(wait_for([&] { return field(id, "health") == "unhealthy"; }));
  EXPECT_NE(nucleus({"ps"}).out.find("(unhealthy)"), std::string::npos);
  ASSERT_EQ(nucleus({"exec", id, "/bin/touch", "/tmp/ok"}).status, 0);
  ASSERT_TRUE(wait_for([&] { return field(id, "health") == "healthy"; }));
  EXPECT_EQ(field(id, "status"), "running");  // --health-on-failure none
  std::vector<json> changes = events_of(id, "health_status");
  ASSERT_GE(changes.size(), 2u);
  EXPECT_EQ(changes.back()["attributes"]["status"], "healthy");
}

TEST_P(ServicesReady, UnhealthyRestartsWithHealthOnFailureRestart) {
  const std::string id = name("heal");
  ASSERT_EQ(run_d(id, {"--health-cmd", "false", "--health-interval", "200ms", "--health-retries", "1",
                       "--health-on-failure", "restart"},
                  {"/bin/sleep", "600"})
                .status,
            0);
  ASSERT_TRUE(wait_for([&] { return inspect(id)["restart_count"].get<int>() >= 1; }));
  EXPECT_NE(field(id, "status"), "exited");
}

TEST_P(ServicesReady, SdnotifyHealthyReturnsOnceReadyAndTellsNotifySocket) {
  const std::string id = name("ready");
  HostSocket listener(SOCK_DGRAM, "/run/nucleus-it-notify-" + std::to_string(::getpid()) + ".sock");
  Result r = run_d(id, {"--sdnotify", "healthy", "--health-cmd", "test -e /tmp/ready", "--health-interval", "200ms"},
                   {"/bin/sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"},
                   RunOptions{.env = {{"NOTIFY_SOCKET", listener.path}}});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(field(id, "health"), "healthy");  // returned only once ready
  char buf[256] = {};
  ssize_t n = ::recv(listener.fd.get(), buf, sizeof buf - 1, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf), "READY=1\nMAINPID=" + std::to_string(inspect(id)["monitor_pid"].get<int>()) + "\n");
}

TEST_P(ServicesReady, SdnotifyContainerReturnsOnceTheWorkloadSaysReady) {
  const std::string id = name("said");
  HostSocket listener(SOCK_DGRAM, "/run/nucleus-it-notify-c-" + std::to_string(::getpid()) + ".sock");
  Result r = run_d(id, {"--sdnotify", "container"},
                   {"/bin/sh", "-c", "sleep 1; touch /tmp/said; /nprobe notify READY=1 STATUS=up; exec sleep 600"},
                   RunOptions{.env = {{"NOTIFY_SOCKET", listener.path}}});
  char buf[256] = {};
  ssize_t n = ::recv(listener.fd.get(), buf, sizeof buf - 1, MSG_DONTWAIT);
  if (GetParam() == "gvisor") {  // the relay needs a host socket in the sandbox
    EXPECT_EQ(r.status, 125);
    EXPECT_TRUE(root_entries().empty());
    return;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  // Returned only after the workload's READY=1, which came after /tmp/said.
  EXPECT_EQ(nucleus({"exec", id, "/bin/test", "-e", "/tmp/said"}).status, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf),
            "READY=1\nMAINPID=" + std::to_string(inspect(id)["monitor_pid"].get<int>()) + "\nSTATUS=up\n");
}

INSTANTIATE_TEST_SUITE_P(BothBackends, ServicesReady, ::testing::Values("native", "gvisor"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace nucleus::test
