#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "daemon/api/metrics.h"
#include "daemon/sandbox/manager.h"
#include "daemon/sandbox/templates.h"

// Warm pools: per template, `pool` sandboxes started ahead (their placeholder PID 1
// waiting) and refilled in the background as they are claimed, once the daemon is quiet
// (no claim or exec in flight for a moment) or, under a load that never quiets, after a
// bounded delay and then one start at a time: a sandbox start is milliseconds of CPU (a runsc start tens), and started
// during a burst of claims it ran beside the claimers' first commands. A claim takes a ready one
// (a hit) or, with the pool empty, starts one cold (a miss): never an error but the
// template's max_sandboxes. What a claim binds (env, files, TTL) is the sandbox's own from
// then on; the pool never held it.
namespace nucleus::daemon {

class Pools {
 public:
  Pools(SandboxManager& manager, const std::map<std::string, Template>& templates);
  ~Pools() { manager_.after_forget = nullptr; }
  Pools(const Pools&) = delete;
  Pools& operator=(const Pools&) = delete;
  // Starts every pool's first fill.
  void start();
  // A running sandbox of t, taken from its pool when one is ready; `warm` says which.
  boost::asio::awaitable<SandboxPtr> claim(const Template& t, bool* warm);
  // A sandbox of a pool found again after a restart.
  void adopt(SandboxPtr s);
  std::map<std::string, PoolGauge> gauges() const;

 private:
  // Starts sandboxes until the pool is full or at_once of them are starting.
  void refill(const Template& t, unsigned at_once);
  // The whole pool at once when the daemon is quiet, else one start at a time.
  void refill_now(const Template& t);
  bool quiet() const;  // no claim or exec in flight for kQuietFor (pool.cc)
  // A claim's refill: once quiet, or after kMaxRefillDelay; one waiter for all templates.
  void refill_when_quiet(const Template& t);
  boost::asio::awaitable<void> refill_deferred();
  boost::asio::awaitable<void> fill_one(Template t);

  SandboxManager& manager_;
  const std::map<std::string, Template>& templates_;
  std::map<std::string, std::deque<SandboxPtr>> ready_;
  std::map<std::string, unsigned> starting_;
  std::map<std::string, unsigned> failures_;  // in a row: a broken template stops refilling
  std::set<std::string> deferred_;            // templates whose refill waits for a quiet moment
  bool waiting_for_quiet_ = false;
};

}  // namespace nucleus::daemon
