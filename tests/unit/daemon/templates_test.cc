// Sandbox templates (daemon/sandbox/templates.cc): YAML to the `nucleus run` flags a
// sandbox is held by; unknown keys and bad values refused with their position.
#include <gtest/gtest.h>

#include "core/sys/error.h"
#include "daemon/sandbox/templates.h"

namespace nucleus::daemon {
namespace {

TEST(DaemonTemplates, ParsedIntoRunFlags) {
  auto t = parse_templates(R"(
templates:
  py:
    isolation: untrusted
    rootfs: /srv/py
    memory: 256M
    pids_limit: 64
    env: {LANG: C.UTF-8}
    tmpfs: [/workspace]
    pool: 2
    max_sandboxes: 4
    ttl: 600
)", "t.yaml");
  ASSERT_TRUE(t.count("py"));
  ASSERT_TRUE(t.count("default"));
  EXPECT_EQ(t.at("py").pool, 2u);
  EXPECT_EQ(run_flags(t.at("py")),
            (std::vector<std::string>{"--isolation", "untrusted", "--rootfs", "/srv/py", "--memory", "256M", "--pids-limit", "64",
                                      "--env", "LANG=C.UTF-8", "--tmpfs", "/workspace"}));
  EXPECT_TRUE(run_flags(t.at("default")).empty());
}

TEST(DaemonTemplates, RefusalsNameThePlace) {
  auto message = [](const std::string& yaml) {
    try {
      parse_templates(yaml, "t.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("templates:\n  a:\n    image: x\n"), "t.yaml:3:5: templates.a.image: unknown key");
  EXPECT_EQ(message("templates:\n  a:\n    isolation: max\n"), "t.yaml:3:5: templates.a.isolation: trusted, standard or untrusted");
  EXPECT_EQ(message("templates:\n  a:\n    pool: 5\n    max_sandboxes: 2\n"), "t.yaml:3:5: templates.a.pool: larger than max_sandboxes");
  EXPECT_EQ(message("templates:\n  a:\n    pool: many\n"), "t.yaml:3:11: templates.a.pool: has the wrong type");
  EXPECT_EQ(message("pools: {}\n"), "t.yaml:1:1: pools: unknown key");
  // Every create (the pool's refills too) would be refused: said once, at load.
  EXPECT_EQ(message("templates:\n  a:\n    dns: [192.0.2.53]\n"), "t.yaml:3:5: templates.a.dns: needs network: bridge");
  EXPECT_EQ(message("templates:\n  a:\n    network: none\n    egress_allow: [pypi.org]\n"),
            "t.yaml:3:5: templates.a.egress_allow: needs network: bridge");
  EXPECT_EQ(message("templates:\n  a:\n    network: bridge\n    egress_allow: [pypi.org]\n"), "accepted");
  EXPECT_EQ(message("templates:\n  A B: {}\n"), "t.yaml:2:3: templates.A B: a name is lower-case letters, digits, - and _");
}

}  // namespace
}  // namespace nucleus::daemon
