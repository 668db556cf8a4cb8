// run's service flags: parsed once into the ServiceSpec, their combinations checked.
#include <gtest/gtest.h>

#include "core/sys/error.h"
#include "frontend/overrides.h"

namespace nucleus::frontend {
namespace {

std::string refusal(const ServiceFlags& flags) {
  try {
    ServiceSpec spec;
    apply_service_flags(flags, spec);
    validate_service(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(ServiceFlags, LaidOverTheSpec) {
  ServiceFlags f;
  f.detach = true;
  f.restart = "on-failure:2";
  f.health_cmd = "test -e /ready";
  f.health_interval = "500ms";
  f.health_retries = "4";
  f.sdnotify = "healthy";
  ServiceSpec spec;
  apply_service_flags(f, spec);
  validate_service(spec);
  EXPECT_TRUE(spec.detach);
  ASSERT_TRUE(spec.health);
  EXPECT_EQ(spec.health->command, (std::vector<std::string>{"/bin/sh", "-c", "test -e /ready"}));
  EXPECT_EQ(spec.health->interval_ms, 500);
  EXPECT_EQ(spec.health->retries, 4u);
  EXPECT_EQ(spec.health->timeout_ms, 30'000);  // docker's default
}

TEST(ServiceFlags, BadCombinationsAreRefusedNamingTheFlag) {
  ServiceFlags no_detach;
  no_detach.restart = "always";
  EXPECT_NE(refusal(no_detach).find("--restart: applies to a detached container"), std::string::npos);
  ServiceFlags healthy_without_check;
  healthy_without_check.detach = true;
  healthy_without_check.sdnotify = "healthy";
  EXPECT_NE(refusal(healthy_without_check).find("--sdnotify"), std::string::npos);
  ServiceFlags interval_without_cmd;
  interval_without_cmd.detach = true;
  interval_without_cmd.health_interval = "1s";
  EXPECT_NE(refusal(interval_without_cmd).find("--health-cmd"), std::string::npos);
  ServiceFlags zero_interval;
  zero_interval.detach = true;
  zero_interval.health_cmd = "true";
  zero_interval.health_interval = "0s";
  EXPECT_NE(refusal(zero_interval).find("--health-interval"), std::string::npos);
  ServiceFlags missing_secret;
  missing_secret.detach = true;
  missing_secret.secrets = {"/nonexistent/secret"};
  EXPECT_NE(refusal(missing_secret).find("--secret"), std::string::npos);
}

}  // namespace
}  // namespace nucleus::frontend
