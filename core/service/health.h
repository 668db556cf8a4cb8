#pragma once

#include <cstdint>
#include <string>
#include <vector>

// A container's health as its checks make it (docker's rules): `starting` until a check
// passes; a pass makes it `healthy`; `retries` failures in a row make it `unhealthy`;
// failures within the start period do not count (a pass there still counts).
namespace nucleus::service {

enum class HealthStatus { kNone, kStarting, kHealthy, kUnhealthy };

const char* to_string(HealthStatus status);

class HealthState {
 public:
  explicit HealthState(uint32_t retries) : retries_(retries == 0 ? 1 : retries) {}
  // One check's result; true when the status changed.
  bool record(bool passed, bool in_start_period);
  HealthStatus status() const { return status_; }
  uint32_t failing_streak() const { return failing_streak_; }

 private:
  uint32_t retries_;
  HealthStatus status_ = HealthStatus::kStarting;
  uint32_t failing_streak_ = 0;
};

// The last checks' results, as docker's State.Health.Log: kept in the service's state and
// shown by `inspect`, the newest last.
inline constexpr size_t kHealthLogEntries = 5;
inline constexpr size_t kHealthOutputBytes = 4096;  // a check's stdout and stderr, cut here

struct HealthResult {
  std::string start, end;  // RFC 3339, UTC
  int exit_code = 0;       // -1: it ran past its timeout (killed)
  std::string output;      // at most kHealthOutputBytes
};

// Appends `result` (its output cut to the bound), dropping the oldest beyond the last
// kHealthLogEntries.
void keep_health_result(std::vector<HealthResult>& log, HealthResult result);

}  // namespace nucleus::service
