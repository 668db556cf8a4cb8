#pragma once

#include <map>
#include <string>
#include <vector>

// The route table: METHOD + a path pattern whose {name} segments capture one path segment
// each. Pure: no I/O, unit-tested (tests/unit/daemon/router_test.cc). A path that matches a
// pattern under another method answers 405 with the methods it does take; none, 404.
namespace nucleus::daemon {

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed } kind = Kind::kNotFound;
  std::string name;                           // the route's name (kFound)
  std::map<std::string, std::string> params;  // {id} -> value (kFound)
  std::vector<std::string> allowed;           // the methods the path takes (kMethodNotAllowed)
};

class Router {
 public:
  void add(std::string method, std::string pattern, std::string name);
  RouteMatch match(const std::string& method, const std::string& path) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::string name;
  };
  std::vector<Route> routes_;
};

// "/a/b/" -> {"a", "b"}; empty segments ("//") kept as "" so they never match a capture.
std::vector<std::string> split_path(const std::string& path);
// The query string's key=value pairs, percent-decoded; throws ApiError 400 on a bad escape.
std::map<std::string, std::string> parse_query(const std::string& query);
std::string percent_decode(const std::string& text);

}  // namespace nucleus::daemon
