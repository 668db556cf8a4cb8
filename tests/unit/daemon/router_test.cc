// The API's route table (daemon/api/routes.cc, daemon/http/router.cc): every route is
// found with its captures, a known path under another method is 405 with the methods it
// takes, anything else 404; query strings are decoded and bad escapes refused.
#include <gtest/gtest.h>

#include "daemon/api/routes.h"
#include "daemon/http/api_error.h"
#include "daemon/http/router.h"

namespace nucleus::daemon {
namespace {

TEST(DaemonRouter, FindsEveryRouteWithItsId) {
  Router r = api_router();
  struct Case {
    const char* method;
    const char* path;
    const char* name;
  } cases[] = {{"GET", "/v1/health", "health"},
               {"GET", "/metrics", "metrics"},
               {"POST", "/v1/sandboxes", "create"},
               {"GET", "/v1/sandboxes", "list"},
               {"GET", "/v1/sandboxes/abc", "get"},
               {"DELETE", "/v1/sandboxes/abc", "delete"},
               {"POST", "/v1/sandboxes/abc/exec", "exec"},
               {"PUT", "/v1/sandboxes/abc/files", "put_files"},
               {"GET", "/v1/sandboxes/abc/files", "get_files"},
               {"POST", "/v1/sandboxes/abc/pause", "pause"},
               {"POST", "/v1/sandboxes/abc/resume", "resume"}};
  for (const Case& c : cases) {
    RouteMatch m = r.match(c.method, c.path);
    ASSERT_EQ(m.kind, RouteMatch::Kind::kFound) << c.method << " " << c.path;
    EXPECT_EQ(m.name, c.name);
    if (std::string(c.path).find("abc") != std::string::npos) {
      EXPECT_EQ(m.params.at("id"), "abc");
    }
  }
}

TEST(DaemonRouter, WrongMethodIs405WithTheAllowedOnes) {
  RouteMatch m = api_router().match("PATCH", "/v1/sandboxes/abc");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "DELETE"}));
}

TEST(DaemonRouter, UnknownPathsAre404) {
  Router r = api_router();
  for (const char* p : {"/", "/v1", "/v1/sandboxes/abc/exec/more", "/v1/sandboxes//exec", "/v2/sandboxes", "/v1/sandboxes/a/b"})
    EXPECT_EQ(r.match("GET", p).kind, RouteMatch::Kind::kNotFound) << p;
  EXPECT_EQ(r.match("POST", "/v1/sandboxes//exec").kind, RouteMatch::Kind::kNotFound);
}

TEST(DaemonRouter, OneTrailingSlashIsTheSamePath) {
  EXPECT_EQ(api_router().match("GET", "/v1/sandboxes/").name, "list");
}

TEST(DaemonRouter, QueryStringsAreDecoded) {
  auto q = parse_query("path=%2Fwork%20dir%2Fa%2Bb&x=1&flag");
  EXPECT_EQ(q.at("path"), "/work dir/a+b");
  EXPECT_EQ(q.at("x"), "1");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_THROW(parse_query("path=%2"), ApiError);
  EXPECT_THROW(parse_query("path=%zz"), ApiError);
}

}  // namespace
}  // namespace nucleus::daemon
