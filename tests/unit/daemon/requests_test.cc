// The API's request bodies (daemon/api/requests.cc): parsed strictly, every refusal an
// ApiError 400 whose code and message name the field; sandbox paths normalized, '..'
// refused.
#include <gtest/gtest.h>

#include "daemon/api/requests.h"
#include "daemon/http/api_error.h"

namespace nucleus::daemon {
namespace {

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400);
    return e.code + ": " + e.what();
  }
  return "accepted";
}

TEST(DaemonRequests, ExecTakesEveryField) {
  ExecRequest r = parse_exec_request(
      R"({"argv":["sh","-c","echo hi"],"env":{"A":"1"},"cwd":"/tmp/./x/","user":"1000:1000","stdin":"in","timeout":1.5})");
  EXPECT_EQ(r.argv, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  EXPECT_EQ(r.env.at("A"), "1");
  EXPECT_EQ(r.cwd, "/tmp/x");
  EXPECT_EQ(r.user, "1000:1000");
  EXPECT_EQ(*r.stdin_data, "in");
  EXPECT_DOUBLE_EQ(*r.timeout, 1.5);
}

TEST(DaemonRequests, ExecRefusals) {
  EXPECT_EQ(refusal([] { parse_exec_request("{\"argv\":"); }), "malformed_json: the body is not valid JSON");
  EXPECT_EQ(refusal([] { parse_exec_request("[1]"); }), "malformed_json: the body must be a JSON object");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":["ls"],"tty":true})"); }), "unknown_field: tty: unknown field");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":[]})"); }), "invalid_field: argv: a command is required");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":"ls"})"); }), "invalid_field: argv: must be an array of strings");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":["ls"],"timeout":0})"); }),
            "invalid_field: timeout: must be over 0 and at most 86400 seconds");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":["ls"],"user":"root"})"); }), "invalid_field: user: UID[:GID], numeric");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":["ls"],"cwd":"../x"})"); }),
            "invalid_field: cwd: must be an absolute path inside the sandbox");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":["ls"],"env":{"LD_PRELOAD":"/x.so"}})"); }),
            "invalid_field: env.LD_PRELOAD: loader variables never reach a workload");
  EXPECT_EQ(refusal([] { parse_exec_request(R"({"argv":["ls"],"env":{"A":1}})"); }), "invalid_field: env.A: must be a string");
}

TEST(DaemonRequests, CreateTakesEveryField) {
  CreateRequest r = parse_create_request(
      R"({"template":"py","isolation":"untrusted","env":{"K":"V"},"ttl":60,"idle_timeout":10,)"
      R"("files":{"/w//a.txt":"x"},"workspace":{"path":"/src","mode":"copy","exclude":["*.o"],"copy_out":true}})");
  EXPECT_EQ(r.template_name, "py");
  EXPECT_EQ(r.isolation, "untrusted");
  EXPECT_EQ(*r.ttl, 60u);
  EXPECT_EQ(r.files.at("/w/a.txt"), "x");
  ASSERT_TRUE(r.workspace);
  EXPECT_EQ(r.workspace->target, "/workspace");
  EXPECT_TRUE(r.workspace->copy_out);
  EXPECT_NO_THROW(parse_create_request(""));
}

TEST(DaemonRequests, CreateRefusals) {
  EXPECT_EQ(refusal([] { parse_create_request(R"({"image":"x"})"); }), "unknown_field: image: unknown field");
  EXPECT_EQ(refusal([] { parse_create_request(R"({"isolation":"max"})"); }),
            "invalid_field: isolation: trusted, standard or untrusted");
  EXPECT_EQ(refusal([] { parse_create_request(R"({"ttl":-1})"); }), "invalid_field: ttl: must be a whole number of seconds");
  EXPECT_EQ(refusal([] { parse_create_request(R"({"workspace":{"path":"rel"}})"); }),
            "invalid_field: workspace.path: must be an absolute host path");
  EXPECT_EQ(refusal([] { parse_create_request(R"({"workspace":{"path":"/a","mode":"rw","copy_out":true}})"); }),
            "invalid_field: workspace.copy_out: only with mode copy (a bind is the directory itself)");
  EXPECT_EQ(refusal([] { parse_create_request(R"({"workspace":{"path":"/a","when":1}})"); }),
            "unknown_field: workspace.when: unknown field");
  EXPECT_EQ(refusal([] { parse_create_request(R"({"files":{"/a/../../etc/passwd":"x"}})"); }),
            "path_traversal: files./a/../../etc/passwd: '..' is not allowed");
}

TEST(DaemonRequests, SandboxPaths) {
  EXPECT_EQ(check_sandbox_path("/", "p"), "/");
  EXPECT_EQ(check_sandbox_path("//a/./b//", "p"), "/a/b");
  EXPECT_EQ(refusal([] { check_sandbox_path("/a/../b", "p"); }), "path_traversal: p: '..' is not allowed");
  EXPECT_EQ(refusal([] { check_sandbox_path("..", "p"); }), "invalid_field: p: must be an absolute path inside the sandbox");
  EXPECT_EQ(refusal([] { check_sandbox_path(std::string("/a\0b", 4), "p"); }), "invalid_field: p: contains a NUL byte");
  EXPECT_EQ(check_sandbox_path("/a/..b/c..", "p"), "/a/..b/c..");
}

}  // namespace
}  // namespace nucleus::daemon
