#include "daemon/pool/pool.h"

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "daemon/http/api_error.h"

namespace nucleus::daemon {

namespace asio = boost::asio;

namespace {
// A template whose sandboxes fail to start this many times in a row stops being refilled
// (claims still try cold, and report the error).
constexpr unsigned kMaxFailuresInARow = 3;
// A claim's refill waits this long: a container start is several milliseconds of CPU, and
// started at once it ran beside the claimer's first command (an agent's claim is followed
// by an exec), tripling its latency on a busy 2-CPU host (docs/performance-notes.md).
constexpr auto kRefillDelay = std::chrono::milliseconds(100);
}  // namespace

Pools::Pools(SandboxManager& manager, const std::map<std::string, Template>& templates)
    : manager_(manager), templates_(templates) {}

void Pools::start() {
  for (const auto& [name, t] : templates_) refill(t);
}

asio::awaitable<void> Pools::refill_later(Template t) {
  asio::steady_timer delay(manager_.io(), kRefillDelay);
  co_await delay.async_wait(asio::use_awaitable);
  refill(t);
}

void Pools::refill(const Template& t) {
  if (failures_[t.name] >= kMaxFailuresInARow) return;
  while (ready_[t.name].size() + starting_[t.name] < t.pool && manager_.live_of(t.name) < t.max_sandboxes) {
    ++starting_[t.name];
    asio::co_spawn(manager_.io(), fill_one(t), asio::detached);
  }
}

asio::awaitable<void> Pools::fill_one(Template t) {
  SandboxPtr s;
  try {
    s = co_await manager_.start_sandbox(t);
    failures_[t.name] = 0;
  } catch (const std::exception& e) {
    spdlog::warn("pool {}: {}", t.name, e.what());
    ++failures_[t.name];
  }
  --starting_[t.name];
  if (s) {
    s->pooled = true;
    manager_.persist(*s);
    ready_[t.name].push_back(s);
  }
  refill(t);
}

void Pools::adopt(SandboxPtr s) {
  if (!templates_.count(s->template_name)) return;
  ready_[s->template_name].push_back(std::move(s));
}

asio::awaitable<SandboxPtr> Pools::claim(const Template& t, bool* warm) {
  std::deque<SandboxPtr>& ready = ready_[t.name];
  while (!ready.empty()) {
    SandboxPtr s = ready.front();
    ready.pop_front();
    if (s->ending || s->holder == 0) continue;  // it ended while pooled
    s->pooled = false;
    ++manager_.metrics().counter("nucleus_pool_hits_total", "template=\"" + t.name + "\"");
    *warm = true;
    asio::co_spawn(manager_.io(), refill_later(t), asio::detached);
    co_return s;
  }
  *warm = false;
  if (t.pool > 0) ++manager_.metrics().counter("nucleus_pool_misses_total", "template=\"" + t.name + "\"");
  if (manager_.live_of(t.name) >= t.max_sandboxes)
    throw ApiError(429, "too_many_sandboxes",
                   "template '" + t.name + "' has " + std::to_string(t.max_sandboxes) + " sandboxes already (max_sandboxes)");
  SandboxPtr s = co_await manager_.start_sandbox(t);
  failures_[t.name] = 0;
  refill(t);
  co_return s;
}

std::map<std::string, PoolGauge> Pools::gauges() const {
  std::map<std::string, PoolGauge> out;
  for (const auto& [name, t] : templates_) {
    PoolGauge g;
    g.target = t.pool;
    if (auto it = ready_.find(name); it != ready_.end()) g.ready = static_cast<unsigned>(it->second.size());
    if (auto it = starting_.find(name); it != starting_.end()) g.starting = it->second;
    out[name] = g;
  }
  return out;
}

}  // namespace nucleus::daemon
