// The exec channel's frames (daemon/agent/protocol.h): the daemon's check of what an agent
// sends, and the exec request the daemon builds (AgentChannel::start_payload) as the agent
// parses it (daemon/agent/exec_table.cc), the environment laid over the agent's own.
#include <gtest/gtest.h>

#include "daemon/agent/exec_table.h"
#include "daemon/agent/protocol.h"
#include "daemon/sandbox/agent_channel.h"

namespace nucleus::daemon {
namespace {

namespace proto = nucleus::agent;

TEST(AgentProtocol, TheDaemonTakesOnlyBoundedKnownFrames) {
  EXPECT_TRUE(proto::valid_agent_frame({proto::kStdout, 3, proto::kMaxAgentPayload}));
  EXPECT_FALSE(proto::valid_agent_frame({proto::kStdout, 3, proto::kMaxAgentPayload + 1}));
  EXPECT_FALSE(proto::valid_agent_frame({proto::kStdout, 0, 5}));  // exec id 0 is the hello's
  EXPECT_FALSE(proto::valid_agent_frame({proto::kExecStart, 1, 5}));  // the daemon's own type
  EXPECT_FALSE(proto::valid_agent_frame({0x62726167, 1, 5}));        // garbage
  EXPECT_TRUE(proto::valid_agent_frame({proto::kHello, 0, sizeof(proto::Hello)}));
  EXPECT_FALSE(proto::valid_agent_frame({proto::kHello, 0, sizeof(proto::Hello) + 1}));
  EXPECT_TRUE(proto::valid_agent_frame({proto::kExit, 2, 4}));
  EXPECT_FALSE(proto::valid_agent_frame({proto::kExit, 2, 8}));
}

TEST(AgentProtocol, ARequestRoundTripsWithTheEnvironmentLaidOver) {
  auto payload = AgentChannel::start_payload({"/bin/sh", "-c", "echo hi"}, {"A=new", "B=b"}, "/tmp", "NUCLEUS_EXEC=1-2", true);
  ASSERT_TRUE(payload);
  char a[] = "A=old", path[] = "PATH=/bin", stale[] = "NUCLEUS_EXEC=old";
  char* base[] = {a, path, stale, nullptr};
  proto::StartRequest r;
  ASSERT_TRUE(proto::parse_start(payload->data(), static_cast<uint32_t>(payload->size()), base, &r));
  EXPECT_STREQ(r.cwd, "/tmp");
  EXPECT_STREQ(r.marker, "NUCLEUS_EXEC=1-2");
  EXPECT_TRUE(r.has_stdin);
  std::vector<std::string> argv, env;
  for (char** p = r.argv; *p; ++p) argv.emplace_back(*p);
  for (char** p = r.envp; *p; ++p) env.emplace_back(*p);
  EXPECT_EQ(argv, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "A=new", "B=b", "NUCLEUS_EXEC=1-2"}));
  proto::free_start(&r);
}

TEST(AgentProtocol, MalformedRequestsAreRefused) {
  auto payload = AgentChannel::start_payload({"x"}, {"A=1"}, "", "NUCLEUS_EXEC=1", false);
  ASSERT_TRUE(payload);
  proto::StartRequest r;
  // cut short, one byte too many, a count that lies
  EXPECT_FALSE(proto::parse_start(payload->data(), static_cast<uint32_t>(payload->size() - 1), nullptr, &r));
  std::string longer = *payload + "y";
  EXPECT_FALSE(proto::parse_start(longer.data(), static_cast<uint32_t>(longer.size()), nullptr, &r));
  std::string lying = *payload;
  lying[0] = 9;
  EXPECT_FALSE(proto::parse_start(lying.data(), static_cast<uint32_t>(lying.size()), nullptr, &r));
  // the daemon never builds what would shift the fields: a NUL inside, no argv
  EXPECT_FALSE(AgentChannel::start_payload({std::string("a\0b", 3)}, {}, "", "M=1", false));
  EXPECT_FALSE(AgentChannel::start_payload({}, {}, "", "M=1", false));
}

}  // namespace
}  // namespace nucleus::daemon
