#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

// What /metrics shows (Prometheus text format 0.0.4, docs/api.md "Metrics"): counters the
// routes and pools bump, gauges read when scraped, one histogram of exec latency.
namespace nucleus::daemon {

struct PoolGauge {
  unsigned ready = 0;
  unsigned starting = 0;
  unsigned target = 0;
};

class Metrics {
 public:
  // Exec latency: from the request to the exit status, seconds.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,  0.5,   1,    5,     30};
  void observe_exec(double seconds);
  uint64_t& counter(const std::string& name, const std::string& labels = "") { return counters_[name][labels]; }

  // gauges: sandboxes by state, pools by template.
  std::string render(const std::map<std::string, unsigned>& sandboxes, const std::map<std::string, PoolGauge>& pools) const;

 private:
  std::map<std::string, std::map<std::string, uint64_t>> counters_;
  std::array<uint64_t, kBuckets.size()> buckets_{};
  uint64_t exec_count_ = 0;
  double exec_sum_ = 0;
};

}  // namespace nucleus::daemon
