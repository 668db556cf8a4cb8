#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

// The bodies the API takes, parsed once and strictly: a field the route does not know, a
// value of the wrong type or out of range is an ApiError 400 naming it (docs/api.md). Pure,
// unit-tested (tests/unit/daemon/requests_test.cc).
namespace nucleus::daemon {

struct WorkspaceRequest {
  std::string path;                  // a host directory (under a --workspace-root)
  std::string mode = "copy";         // copy | ro | rw
  std::string target = "/workspace"; // where it appears in the sandbox
  std::vector<std::string> exclude;  // extra patterns (tar --exclude syntax)
  bool copy_out = false;             // copy (mode copy) the target back into path at delete
};

struct CreateRequest {
  std::string template_name;                 // "" : the default template
  std::string isolation;                     // "" : the template's
  std::map<std::string, std::string> env;    // every exec gets it
  std::optional<uint32_t> ttl;               // seconds from create; 0: none
  std::optional<uint32_t> idle_timeout;      // seconds without an exec; 0: none
  std::map<std::string, std::string> files;  // path -> content, written at create
  std::optional<WorkspaceRequest> workspace;
};

struct ExecRequest {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd;                 // "" : the sandbox's
  std::string user;                // "" or UID[:GID], numeric
  std::optional<std::string> stdin_data;
  std::optional<double> timeout;   // seconds
};

CreateRequest parse_create_request(const std::string& body);
ExecRequest parse_exec_request(const std::string& body);

// A path inside a sandbox as a request names it: absolute, no "..", no NUL, at most 4096
// bytes; returned without "." components, repeated or trailing slashes. ApiError 400
// otherwise (`what` names the field).
std::string check_sandbox_path(const std::string& path, const std::string& what);

// The environment names and values a request may set (no '=' or NUL in a name, none of
// the loader's variables: core/policy/env_filter).
void check_env(const std::map<std::string, std::string>& env, const std::string& what);

}  // namespace nucleus::daemon
