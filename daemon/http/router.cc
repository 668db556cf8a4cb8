#include "daemon/http/router.h"

#include <nlohmann/json.hpp>

#include "daemon/http/api_error.h"

namespace nucleus::daemon {

std::string error_body(const std::string& code, const std::string& message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(-1, ' ', false,
                                                                                nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end == path.size() && start == end && !out.empty()) break;  // one trailing slash
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, std::string name) {
  routes_.push_back({std::move(method), split_path(pattern), std::move(name)});
}

namespace {

bool segments_match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                    std::map<std::string, std::string>* params) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (path[i].empty()) return false;
      if (params) (*params)[p.substr(1, p.size() - 2)] = path[i];
    } else if (p != path[i]) {
      return false;
    }
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

RouteMatch Router::match(const std::string& method, const std::string& path) const {
  RouteMatch result;
  const std::vector<std::string> segments = split_path(path);
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!segments_match(route.segments, segments, &params)) continue;
    if (route.method == method) {
      result.kind = RouteMatch::Kind::kFound;
      result.name = route.name;
      result.params = std::move(params);
      return result;
    }
    result.kind = RouteMatch::Kind::kMethodNotAllowed;
    result.allowed.push_back(route.method);
  }
  return result;
}

std::string percent_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw ApiError(400, "bad_request", "bad percent escape in the query string");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key = percent_decode(pair.substr(0, eq));
      std::string value = eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1));
      out[key] = value;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace nucleus::daemon
