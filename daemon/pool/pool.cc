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
// A claim's refill starts once no claim or exec has been in flight for this long (the
// gap between a claim's answer and its first exec is shorter), so that the sandbox
// starts, each milliseconds of CPU (a runsc start tens), do not run beside a burst of
// claims and their first commands on a small host (docs/performance-notes.md)...
constexpr auto kQuietFor = std::chrono::milliseconds(50);
// ...or after this long under a load that never quiets, so that the pool still refills;
// then one start at a time while the load lasts.
constexpr auto kMaxRefillDelay = std::chrono::milliseconds(1000);
// How often a waiting refill looks again while claims or execs are in flight.
constexpr auto kQuietPoll = std::chrono::milliseconds(5);
}  // namespace

Pools::Pools(SandboxManager& manager, const std::map<std::string, Template>& templates)
    : manager_(manager), templates_(templates) {
  // A template held at its max_sandboxes could not refill: it can once one goes.
  manager_.after_forget = [this](const std::string& name) {
    auto t = templates_.find(name);
    if (t == templates_.end()) return;
    // A pooled sandbox that ended by itself leaves the pool too (claim() would skip it).
    std::erase_if(ready_[name], [](const SandboxPtr& s) { return s->ending || s->holder == 0; });
    if (ready_[name].size() + starting_[name] < t->second.pool) refill_when_quiet(t->second);
  };
}

void Pools::start() {
  for (const auto& [name, t] : templates_) refill(t, t.pool);
}

bool Pools::quiet() const {
  return manager_.in_flight() == 0 && std::chrono::steady_clock::now() - manager_.last_activity() >= kQuietFor;
}

void Pools::refill_when_quiet(const Template& t) {
  deferred_.insert(t.name);
  if (waiting_for_quiet_) return;
  waiting_for_quiet_ = true;
  asio::co_spawn(manager_.io(), refill_deferred(), asio::detached);
}

asio::awaitable<void> Pools::refill_deferred() {
  using clock = std::chrono::steady_clock;
  const clock::time_point deadline = clock::now() + kMaxRefillDelay;
  asio::steady_timer timer(manager_.io());
  while (!quiet() && clock::now() < deadline) {
    const bool idle = manager_.in_flight() == 0;
    timer.expires_at(std::min(deadline, idle ? manager_.last_activity() + kQuietFor : clock::now() + kQuietPoll));
    co_await timer.async_wait(asio::use_awaitable);
  }
  waiting_for_quiet_ = false;
  std::set<std::string> names = std::move(deferred_);
  deferred_.clear();
  for (const std::string& name : names) refill_now(templates_.at(name));
}

void Pools::refill_now(const Template& t) { refill(t, quiet() ? t.pool : 1); }

void Pools::refill(const Template& t, unsigned at_once) {
  if (failures_[t.name] >= kMaxFailuresInARow) return;
  while (ready_[t.name].size() + starting_[t.name] < t.pool && starting_[t.name] < at_once &&
         manager_.live_of(t.name) < t.max_sandboxes) {
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
  refill_now(t);
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
    refill_when_quiet(t);
    co_return s;
  }
  *warm = false;
  if (manager_.live_of(t.name) >= t.max_sandboxes)
    throw ApiError(429, "too_many_sandboxes",
                   "template '" + t.name + "' has " + std::to_string(t.max_sandboxes) + " sandboxes already (max_sandboxes)");
  // A miss is a cold create the pool could have served; a 429 is no create at all.
  if (t.pool > 0) ++manager_.metrics().counter("nucleus_pool_misses_total", "template=\"" + t.name + "\"");
  SandboxPtr s = co_await manager_.start_sandbox(t);
  failures_[t.name] = 0;
  refill_when_quiet(t);
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
