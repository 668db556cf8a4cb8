#include "core/policy/env_filter.h"

#include <algorithm>
#include <array>

namespace nucleus {
namespace {

// glibc's UNSECURE_ENVVARS (sysdeps/generic/unsecvars.h, glibc 2.36) plus GLIBC_TUNABLES,
// which the loader parses before main (CVE-2023-4911). Everything starting with LD_ is
// blocked as well, so future loader variables are covered without a table change.
constexpr std::array<std::string_view, 13> kBlockedNames = {
    "GCONV_PATH",  "GETCONF_DIR",      "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN",
    "LOCPATH",     "MALLOC_TRACE",     "NIS_PATH",       "NLSPATH",     "RESOLV_HOST_CONF",
    "RES_OPTIONS", "TMPDIR",           "TZDIR",
};
constexpr std::string_view kBlockedPrefix = "LD_";

void set(std::vector<std::string>& entries, std::string_view key, std::string_view value) {
  auto same_key = [key](const std::string& e) {
    return e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=';
  };
  std::string entry = std::string(key) + "=" + std::string(value);
  auto it = std::find_if(entries.begin(), entries.end(), same_key);
  if (it != entries.end()) {
    *it = std::move(entry);
  } else {
    entries.push_back(std::move(entry));
  }
}

}  // namespace

bool is_blocked_env_name(std::string_view name) {
  if (name.substr(0, kBlockedPrefix.size()) == kBlockedPrefix) return true;
  return std::find(kBlockedNames.begin(), kBlockedNames.end(), name) != kBlockedNames.end();
}

Environment build_environment(const BaseEnvironment& base,
                              const std::vector<std::pair<std::string, std::string>>& user) {
  Environment env;
  set(env.entries, "PATH", base.path);
  set(env.entries, "HOME", base.home);
  if (!base.term.empty()) set(env.entries, "TERM", base.term);
  for (const auto& [key, value] : user) {
    if (is_blocked_env_name(key)) {
      if (std::find(env.dropped.begin(), env.dropped.end(), key) == env.dropped.end()) {
        env.dropped.push_back(key);
      }
      continue;
    }
    set(env.entries, key, value);
  }
  return env;
}

std::string sanitize_term(const char* caller_term) {
  if (caller_term == nullptr) return {};
  std::string_view term(caller_term);
  if (term.empty() || term.size() > 64) return {};
  for (char c : term) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '+';
    if (!ok) return {};
  }
  return std::string(term);
}

Environment filter_environment(const std::vector<std::string>& entries) {
  Environment env;
  for (const std::string& e : entries) {
    std::string_view name = std::string_view(e).substr(0, e.find('='));
    if (is_blocked_env_name(name)) {
      env.dropped.emplace_back(name);
    } else {
      env.entries.push_back(e);
    }
  }
  return env;
}

}  // namespace nucleus
