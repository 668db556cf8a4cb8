#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

// Sandbox templates (nucleusd -f TEMPLATES.yaml, docs/api.md "Templates"): what a sandbox
// of each kind is, turned into the flags of the `nucleus run` that holds it, so a sandbox
// is made by the same code path as every container (config/resolve.cc resolves the flags;
// bad values are refused there, at the first create, with its one-line error).
namespace nucleus::daemon {

struct Template {
  std::string name;
  std::string isolation;    // trusted | standard | untrusted ("" : standard)
  std::string backend;      // native | gvisor ("" : the isolation level's)
  std::string rootfs;       // "" : the host's read-only view
  std::string memory;       // "512M"
  std::string cpus;         // "1.5"
  std::optional<int64_t> pids_limit;
  std::string network;      // none | bridge
  std::vector<std::string> egress_allow;
  std::vector<std::string> dns;
  std::map<std::string, std::string> env;
  std::string workdir;
  std::string user;         // UID[:GID]
  std::vector<std::string> tmpfs;            // DST[:SIZE]
  std::map<std::string, std::string> files;  // path -> content, written at each claim
  unsigned pool = 0;            // sandboxes kept started ahead
  unsigned max_sandboxes = 64;  // live sandboxes of this template, pooled included
  uint32_t ttl = 0;             // seconds; 0: none
  uint32_t idle_timeout = 0;    // seconds; 0: none
};

// The templates of a YAML text ({templates: {NAME: {...}}}); unknown keys are refused
// with file:line:column. A `default` template is added when the file has none.
std::map<std::string, Template> parse_templates(const std::string& yaml, const std::string& file);
std::map<std::string, Template> default_templates();

// The `nucleus run` flags of a template (the command comes after them).
std::vector<std::string> run_flags(const Template& t);

}  // namespace nucleus::daemon
