#include "daemon/api/requests.h"

#include <nlohmann/json.hpp>

#include "core/policy/env_filter.h"
#include "daemon/http/api_error.h"

namespace nucleus::daemon {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw ApiError(400, "invalid_field", field + ": " + why);
}

json parse_object(const std::string& body) {
  json j = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (j.is_discarded()) throw ApiError(400, "malformed_json", "the body is not valid JSON");
  if (!j.is_object()) throw ApiError(400, "malformed_json", "the body must be a JSON object");
  return j;
}

void refuse_unknown(const json& j, std::initializer_list<const char*> known, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) throw ApiError(400, "unknown_field", where + it.key() + ": unknown field");
  }
}

std::string string_field(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return "";
  if (!j[key].is_string()) bad(where + key, "must be a string");
  return j[key].get<std::string>();
}

std::map<std::string, std::string> string_map(const json& j, const char* key, const std::string& where) {
  std::map<std::string, std::string> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_object()) bad(where + key, "must be an object of strings");
  for (auto it = j[key].begin(); it != j[key].end(); ++it) {
    if (!it.value().is_string()) bad(where + key + "." + it.key(), "must be a string");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::optional<uint32_t> seconds_field(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return std::nullopt;
  if (!j[key].is_number_unsigned()) bad(where + key, "must be a whole number of seconds");
  uint64_t v = j[key].get<uint64_t>();
  if (v > 30ull * 24 * 3600) bad(where + key, "at most 30 days");
  return static_cast<uint32_t>(v);
}

std::vector<std::string> string_list(const json& j, const char* key, const std::string& where) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) bad(where + key, "must be an array of strings");
  for (const json& v : j[key]) {
    if (!v.is_string()) bad(where + key, "must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

WorkspaceRequest parse_workspace(const json& j) {
  if (!j.is_object()) bad("workspace", "must be an object");
  refuse_unknown(j, {"path", "mode", "target", "exclude", "copy_out"}, "workspace.");
  WorkspaceRequest w;
  w.path = string_field(j, "path", "workspace.");
  if (w.path.empty() || w.path[0] != '/') bad("workspace.path", "must be an absolute host path");
  if (j.contains("mode")) w.mode = string_field(j, "mode", "workspace.");
  if (w.mode != "copy" && w.mode != "ro" && w.mode != "rw") bad("workspace.mode", "copy, ro or rw");
  if (j.contains("target")) w.target = string_field(j, "target", "workspace.");
  w.target = check_sandbox_path(w.target, "workspace.target");
  if (w.target == "/") bad("workspace.target", "must not be /");
  w.exclude = string_list(j, "exclude", "workspace.");
  if (j.contains("copy_out")) {
    if (!j["copy_out"].is_boolean()) bad("workspace.copy_out", "must be true or false");
    w.copy_out = j["copy_out"].get<bool>();
  }
  if (w.copy_out && w.mode != "copy") bad("workspace.copy_out", "only with mode copy (a bind is the directory itself)");
  return w;
}

}  // namespace

std::string check_sandbox_path(const std::string& path, const std::string& what) {
  if (path.empty() || path[0] != '/') bad(what, "must be an absolute path inside the sandbox");
  if (path.size() > 4096) bad(what, "longer than 4096 bytes");
  if (path.find('\0') != std::string::npos) bad(what, "contains a NUL byte");
  std::string out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") throw ApiError(400, "path_traversal", what + ": '..' is not allowed");
    if (!part.empty() && part != ".") out += "/" + part;
    start = end + 1;
  }
  return out.empty() ? "/" : out;
}

void check_env(const std::map<std::string, std::string>& env, const std::string& what) {
  for (const auto& [key, value] : env) {
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos)
      bad(what + "." + key, "not a valid variable name");
    if (value.find('\0') != std::string::npos) bad(what + "." + key, "contains a NUL byte");
    if (is_blocked_env_name(key)) bad(what + "." + key, "loader variables never reach a workload");
  }
}

CreateRequest parse_create_request(const std::string& body) {
  json j = parse_object(body);
  refuse_unknown(j, {"template", "isolation", "env", "ttl", "idle_timeout", "files", "workspace"}, "");
  CreateRequest r;
  r.template_name = string_field(j, "template", "");
  r.isolation = string_field(j, "isolation", "");
  if (!r.isolation.empty() && r.isolation != "trusted" && r.isolation != "standard" && r.isolation != "untrusted")
    bad("isolation", "trusted, standard or untrusted");
  r.env = string_map(j, "env", "");
  check_env(r.env, "env");
  r.ttl = seconds_field(j, "ttl", "");
  r.idle_timeout = seconds_field(j, "idle_timeout", "");
  for (const auto& [path, content] : string_map(j, "files", "")) r.files[check_sandbox_path(path, "files." + path)] = content;
  if (j.contains("workspace")) r.workspace = parse_workspace(j["workspace"]);
  return r;
}

ExecRequest parse_exec_request(const std::string& body) {
  json j = parse_object(body);
  refuse_unknown(j, {"argv", "env", "cwd", "user", "stdin", "timeout"}, "");
  ExecRequest r;
  r.argv = string_list(j, "argv", "");
  if (r.argv.empty()) bad("argv", "a command is required");
  for (const std::string& a : r.argv)
    if (a.find('\0') != std::string::npos) bad("argv", "contains a NUL byte");
  r.env = string_map(j, "env", "");
  check_env(r.env, "env");
  if (j.contains("cwd")) r.cwd = check_sandbox_path(string_field(j, "cwd", ""), "cwd");
  r.user = string_field(j, "user", "");
  if (!r.user.empty() && r.user.find_first_not_of("0123456789:") != std::string::npos)
    bad("user", "UID[:GID], numeric");
  if (!r.user.empty() && (r.user.front() == ':' || r.user.back() == ':' || r.user.find(':') != r.user.rfind(':')))
    bad("user", "UID[:GID], numeric");
  if (j.contains("stdin")) {
    if (!j["stdin"].is_string()) bad("stdin", "must be a string");
    r.stdin_data = j["stdin"].get<std::string>();
  }
  if (j.contains("timeout")) {
    if (!j["timeout"].is_number()) bad("timeout", "must be a number of seconds");
    double t = j["timeout"].get<double>();
    if (!(t > 0) || t > 86400) bad("timeout", "must be over 0 and at most 86400 seconds");
    r.timeout = t;
  }
  return r;
}

}  // namespace nucleus::daemon
