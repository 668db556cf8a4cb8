#include "daemon/api/metrics.h"

#include <fmt/format.h>

namespace nucleus::daemon {

void Metrics::observe_exec(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++buckets_[i];
  ++exec_count_;
  exec_sum_ += seconds;
}

std::string Metrics::render(const std::map<std::string, unsigned>& sandboxes,
                            const std::map<std::string, PoolGauge>& pools) const {
  std::string out;
  out += "# HELP nucleus_sandboxes Live sandboxes by state.\n# TYPE nucleus_sandboxes gauge\n";
  for (const auto& [state, n] : sandboxes) out += fmt::format("nucleus_sandboxes{{state=\"{}\"}} {}\n", state, n);
  out += "# HELP nucleus_pool_ready Warm sandboxes ready to claim.\n# TYPE nucleus_pool_ready gauge\n";
  for (const auto& [name, p] : pools) out += fmt::format("nucleus_pool_ready{{template=\"{}\"}} {}\n", name, p.ready);
  out += "# HELP nucleus_pool_starting Warm sandboxes being started.\n# TYPE nucleus_pool_starting gauge\n";
  for (const auto& [name, p] : pools) out += fmt::format("nucleus_pool_starting{{template=\"{}\"}} {}\n", name, p.starting);
  out += "# HELP nucleus_pool_target The pool size a template asks for.\n# TYPE nucleus_pool_target gauge\n";
  for (const auto& [name, p] : pools) out += fmt::format("nucleus_pool_target{{template=\"{}\"}} {}\n", name, p.target);
  for (const auto& [name, series] : counters_) {
    out += fmt::format("# TYPE {} counter\n", name);
    for (const auto& [labels, value] : series)
      out += labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  out += "# HELP nucleus_exec_duration_seconds Exec latency, request to exit status.\n";
  out += "# TYPE nucleus_exec_duration_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i)
    out += fmt::format("nucleus_exec_duration_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[i], buckets_[i]);
  out += fmt::format("nucleus_exec_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", exec_count_);
  out += fmt::format("nucleus_exec_duration_seconds_sum {}\n", exec_sum_);
  out += fmt::format("nucleus_exec_duration_seconds_count {}\n", exec_count_);
  return out;
}

}  // namespace nucleus::daemon
