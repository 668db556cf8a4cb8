// The service keys of a workload file and a stack's `services:` (docs/yaml-reference.md).
#include <gtest/gtest.h>

#include "config/yaml_loader.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

TEST(YamlServices, ServiceKeysParseOnce) {
  WorkloadFile f = parse_workload_file(R"(version: 1
services:
  db:
    command: [/bin/db]
    detach: true
    restart: on-failure:4
    log_max_size: 1m
    log_max_files: 2
    sdnotify: healthy
    health: {cmd: "test -e /ready", interval: 500ms, timeout: 2s, retries: 5, start_period: 1m, on_failure: restart}
  web:
    command: [/bin/web]
    health: {cmd: [/bin/check, --quick]}
    depends_on: {db: healthy}
  worker:
    command: [/bin/worker]
    depends_on: [db, web]
)", "/tmp/stack.yaml");
  EXPECT_TRUE(f.stack);
  const ServiceSpec& db = f.get("db").service;
  EXPECT_TRUE(db.detach);
  EXPECT_EQ(service::to_string(db.restart), "on-failure:4");
  EXPECT_EQ(db.log.max_size, 1u << 20);
  EXPECT_EQ(db.log.max_files, 2u);
  EXPECT_EQ(db.sdnotify, SdNotifyMode::kHealthy);
  ASSERT_TRUE(db.health);
  EXPECT_EQ(db.health->command, (std::vector<std::string>{"/bin/sh", "-c", "test -e /ready"}));
  EXPECT_EQ(db.health->interval_ms, 500);
  EXPECT_EQ(db.health->timeout_ms, 2000);
  EXPECT_EQ(db.health->retries, 5u);
  EXPECT_EQ(db.health->start_period_ms, 60'000);
  EXPECT_EQ(db.health->on_failure, HealthOnFailure::kRestart);
  EXPECT_EQ(f.get("web").service.health->command, (std::vector<std::string>{"/bin/check", "--quick"}));
  EXPECT_EQ(f.get("web").service.depends_on.at("db"), DependsCondition::kHealthy);
  EXPECT_EQ(f.get("worker").service.depends_on.at("web"), DependsCondition::kStarted);
}

TEST(YamlServices, BadServiceKeysNameTheirPlace) {
  auto message = [](const std::string& text) {
    try {
      parse_workload_file("version: 1\nworkloads:\n  w:\n    command: [/bin/true]\n" + text, "f.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("    restart: sometimes\n").find("f.yaml:5:14: workloads.w.restart"), std::string::npos);
  EXPECT_NE(message("    health: {cmd: x, interval: -1s}\n").find("workloads.w.health.interval"), std::string::npos);
  EXPECT_NE(message("    health: {interval: 1s}\n").find("needs cmd"), std::string::npos);
  EXPECT_NE(message("    secrets: [/nonexistent/secret]\n").find("workloads.w.secrets"), std::string::npos);
  EXPECT_NE(message("    depends_on: {db: ready}\n").find("started, healthy"), std::string::npos);
  EXPECT_THROW(parse_workload_file("version: 1\nworkloads: {a: {command: [x]}}\nservices: {b: {command: [y]}}\n", "f"), Error);
}

}  // namespace
}  // namespace nucleus
