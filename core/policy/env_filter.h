#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The workload environment, built from scratch for every container (CVE-2021-21334): the
// base variables, then the user's, minus the dynamic loader's variables, which never reach
// a workload (CVE-2023-4911 and friends). Shared by both backends.
namespace nucleus {

inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct BaseEnvironment {
  std::string path{kDefaultPath};
  std::string home = "/";
  std::string term;  // empty: TERM is not set
};

struct Environment {
  std::vector<std::string> entries;  // "KEY=VALUE", each key once, in a stable order
  std::vector<std::string> dropped;  // names removed by the filter, for the warning
};

// True for LD_* and glibc's unsecure-environment list (sysdeps/generic/unsecvars.h).
bool is_blocked_env_name(std::string_view name);

// Base first, then user variables in order; a later value of the same key wins.
// Blocked names are dropped and listed in `dropped`.
Environment build_environment(const BaseEnvironment& base,
                              const std::vector<std::pair<std::string, std::string>>& user);

// An environment given whole (an OCI process's env): kept as it is, in order, except for
// the blocked names, which are dropped and listed.
Environment filter_environment(const std::vector<std::string>& entries);

// The TERM to pass on: the caller's when it is a plain terminal name, else empty.
std::string sanitize_term(const char* caller_term);

}  // namespace nucleus
