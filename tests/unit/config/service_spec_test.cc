#include "config/service_spec.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/sys/error.h"

namespace nucleus {
namespace {

TEST(ServiceSpec, FieldParsersRefuseBadInputNamingTheFlag) {
  EXPECT_EQ(parse_restart("on-failure:5", "--restart").max_retries, 5u);
  try {
    parse_restart("sometimes", "--restart");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--restart"), std::string::npos);
  }
  EXPECT_EQ(parse_duration("2m", "--health-interval"), 120'000);
  EXPECT_THROW(parse_duration("-1s", "--health-interval"), Error);
  EXPECT_EQ(parse_on_failure("restart", "x"), HealthOnFailure::kRestart);
  EXPECT_THROW(parse_on_failure("explode", "x"), Error);
  EXPECT_EQ(parse_sdnotify("healthy", "x"), SdNotifyMode::kHealthy);
  EXPECT_THROW(parse_sdnotify("conmon", "x"), Error);
  EXPECT_EQ(parse_depends_condition("started", "x"), DependsCondition::kStarted);
  EXPECT_THROW(parse_log_size("1k", "--log-max-size"), Error);  // below the minimum
  EXPECT_EQ(parse_log_size("1m", "--log-max-size"), 1u << 20);
  EXPECT_THROW(parse_log_files("0", "--log-max-files"), Error);
}

TEST(ServiceSpec, SecretsMustBeReadableFilesWithPlainNames) {
  char tmpl[] = "/tmp/nucleus-unit-secret-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/token") << "s3cret";
  SecretSpec s = parse_secret("token", dir, "--secret");
  EXPECT_EQ(s.source, dir + "/token");
  EXPECT_EQ(s.name, "token");
  EXPECT_EQ(parse_secret(dir + "/token:api", "", "--secret").name, "api");
  EXPECT_THROW(parse_secret(dir + "/missing", "", "--secret"), Error);
  EXPECT_THROW(parse_secret(dir + "/token:../x", "", "--secret"), Error);
  EXPECT_THROW(parse_secret(dir, "", "--secret"), Error);  // a directory
  std::filesystem::remove_all(dir);
}

TEST(ServiceSpec, JsonRoundTripKeepsNoSecretContent) {
  ServiceSpec s;
  s.detach = true;
  s.restart = parse_restart("on-failure:2", "x");
  s.health = HealthSpec{{"/bin/sh", "-c", "true"}, 500, 1000, 0, 2, HealthOnFailure::kKill};
  s.secrets = {{"/etc/hostname", "host"}};
  s.depends_on = {{"db", DependsCondition::kHealthy}};
  std::string text = service_spec_to_json(s);
  ServiceSpec back = service_spec_from_json(text);
  EXPECT_TRUE(back.detach);
  EXPECT_EQ(service::to_string(back.restart), "on-failure:2");
  ASSERT_TRUE(back.health);
  EXPECT_EQ(back.health->interval_ms, 500);
  EXPECT_EQ(back.health->on_failure, HealthOnFailure::kKill);
  EXPECT_EQ(back.secrets.at(0).name, "host");
  EXPECT_EQ(back.depends_on.at("db"), DependsCondition::kHealthy);
}

}  // namespace
}  // namespace nucleus
