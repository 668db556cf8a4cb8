#include "core/service/health.h"

namespace nucleus::service {

const char* to_string(HealthStatus status) {
  switch (status) {
    case HealthStatus::kNone: return "none";
    case HealthStatus::kStarting: return "starting";
    case HealthStatus::kHealthy: return "healthy";
    case HealthStatus::kUnhealthy: return "unhealthy";
  }
  return "none";
}

bool HealthState::record(bool passed, bool in_start_period) {
  HealthStatus before = status_;
  if (passed) {
    failing_streak_ = 0;
    status_ = HealthStatus::kHealthy;
  } else if (!in_start_period || status_ != HealthStatus::kStarting) {
    if (++failing_streak_ >= retries_) status_ = HealthStatus::kUnhealthy;
  }
  return status_ != before;
}

void keep_health_result(std::vector<HealthResult>& log, HealthResult result) {
  if (result.output.size() > kHealthOutputBytes) result.output.resize(kHealthOutputBytes);
  log.push_back(std::move(result));
  if (log.size() > kHealthLogEntries) log.erase(log.begin(), log.end() - kHealthLogEntries);
}

}  // namespace nucleus::service
