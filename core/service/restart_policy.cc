#include "core/service/restart_policy.h"

#include <algorithm>

namespace nucleus::service {

std::optional<RestartPolicy> parse_restart_policy(std::string_view text) {
  constexpr std::pair<std::string_view, RestartKind> kNames[] = {
      {"no", RestartKind::kNo},
      {"on-failure", RestartKind::kOnFailure},
      {"always", RestartKind::kAlways},
      {"unless-stopped", RestartKind::kUnlessStopped},
  };
  std::string_view name = text.substr(0, text.find(':'));
  for (const auto& [n, kind] : kNames) {
    if (n != name) continue;
    RestartPolicy policy{kind, std::nullopt};
    if (name.size() == text.size()) return policy;
    std::string_view count = text.substr(name.size() + 1);
    if (kind != RestartKind::kOnFailure || count.empty() || count.size() > 6 ||
        count.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    policy.max_retries = static_cast<uint32_t>(std::stoul(std::string(count)));
    return policy;
  }
  return std::nullopt;
}

std::string to_string(const RestartPolicy& policy) {
  switch (policy.kind) {
    case RestartKind::kNo: return "no";
    case RestartKind::kOnFailure:
      return policy.max_retries ? "on-failure:" + std::to_string(*policy.max_retries) : "on-failure";
    case RestartKind::kAlways: return "always";
    case RestartKind::kUnlessStopped: return "unless-stopped";
  }
  return "no";
}

bool should_restart(const RestartPolicy& policy, int exit_code, uint32_t restarts, bool stopped_by_user) {
  if (stopped_by_user) return false;
  switch (policy.kind) {
    case RestartKind::kNo: return false;
    case RestartKind::kOnFailure: return exit_code != 0 && (!policy.max_retries || restarts < *policy.max_retries);
    case RestartKind::kAlways:
    case RestartKind::kUnlessStopped: return true;
  }
  return false;
}

std::chrono::milliseconds restart_delay(uint32_t failures) {
  std::chrono::milliseconds delay = kFirstDelay;
  for (uint32_t i = 0; i < failures && delay < kMaxDelay; ++i) delay *= 2;
  return std::min(delay, kMaxDelay);
}

}  // namespace nucleus::service
