#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// --restart: whether a service's monitor starts its container again after it ended, and
// how long it waits first (docker's policies; the back-off doubles from 100 ms up to a cap,
// and starts over once a run has lasted kResetAfter, so a crash loop is visible in the
// restart count and never spins).
namespace nucleus::service {

enum class RestartKind { kNo, kOnFailure, kAlways, kUnlessStopped };

struct RestartPolicy {
  RestartKind kind = RestartKind::kNo;
  std::optional<uint32_t> max_retries;  // on-failure:N
};

// "no", "on-failure", "on-failure:N", "always", "unless-stopped"; nullopt otherwise.
std::optional<RestartPolicy> parse_restart_policy(std::string_view text);
std::string to_string(const RestartPolicy& policy);

// After a run that ended with exit_code, `restarts` restarts so far. A container stopped by
// the user (`nucleus stop`) is never restarted, whatever the policy (without a daemon,
// `always` and `unless-stopped` differ in nothing else).
bool should_restart(const RestartPolicy& policy, int exit_code, uint32_t restarts, bool stopped_by_user);

inline constexpr std::chrono::milliseconds kFirstDelay{100};
inline constexpr std::chrono::milliseconds kMaxDelay{30'000};
inline constexpr std::chrono::milliseconds kResetAfter{10'000};

// The wait before the next start after `failures` quick exits in a row (0: the first).
std::chrono::milliseconds restart_delay(uint32_t failures);

}  // namespace nucleus::service
