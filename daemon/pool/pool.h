#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <map>
#include <string>

#include "daemon/api/metrics.h"
#include "daemon/sandbox/manager.h"
#include "daemon/sandbox/templates.h"

// Warm pools: per template, `pool` sandboxes started ahead (their placeholder PID 1
// waiting) and refilled in the background as they are claimed. A claim takes a ready one
// (a hit) or, with the pool empty, starts one cold (a miss): never an error but the
// template's max_sandboxes. What a claim binds (env, files, TTL) is the sandbox's own from
// then on; the pool never held it.
namespace nucleus::daemon {

class Pools {
 public:
  Pools(SandboxManager& manager, const std::map<std::string, Template>& templates);
  // Starts every pool's first fill.
  void start();
  // A running sandbox of t, taken from its pool when one is ready; `warm` says which.
  boost::asio::awaitable<SandboxPtr> claim(const Template& t, bool* warm);
  // A sandbox of a pool found again after a restart.
  void adopt(SandboxPtr s);
  std::map<std::string, PoolGauge> gauges() const;

 private:
  void refill(const Template& t);
  // A claim's refill, a moment later (kRefillDelay in pool.cc).
  boost::asio::awaitable<void> refill_later(Template t);
  boost::asio::awaitable<void> fill_one(Template t);

  SandboxManager& manager_;
  const std::map<std::string, Template>& templates_;
  std::map<std::string, std::deque<SandboxPtr>> ready_;
  std::map<std::string, unsigned> starting_;
  std::map<std::string, unsigned> failures_;  // in a row: a broken template stops refilling
};

}  // namespace nucleus::daemon
