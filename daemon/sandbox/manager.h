#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"
#include "daemon/api/metrics.h"
#include "daemon/api/requests.h"
#include "daemon/sandbox/agent_channel.h"
#include "daemon/sandbox/templates.h"

// The sandboxes nucleusd holds. A sandbox is a container of the one container model, held
// by a `nucleus run --name ID [template flags] -- /bin/sh -c 'echo ready; exec sleep ...'`
// that nucleusd starts in a session of its own: the placeholder keeps PID 1 waiting, the
// record under the state root is the container's (every verb reaches it), and what the
// daemon adds (template, env, TTL, pool membership, the holder's pid and start time) is a
// file per sandbox under <root>/.nucleusd/sandboxes, so a restarted daemon re-attaches to
// every holder still alive and deletes the rest (docs/api.md "Restart").
namespace nucleus::daemon {

struct DaemonConfig {
  std::string nucleus;  // the nucleus binary
  std::string agent;    // nucleus-agent, bound into each new sandbox ("": none)
  std::string root;     // the state root (nucleus --root)
  std::string state;    // <root>/.nucleusd
  std::vector<std::string> workspace_roots;  // host directories a workspace may come from
  uint64_t max_file_bytes = 256ull << 20;    // a tar read out of a sandbox
};

struct Sandbox {
  std::string id;
  std::string template_name;
  std::string backend;          // from the container's record once it runs
  pid_t holder = 0;             // the `nucleus run` holding it
  uint64_t holder_start = 0;    // its start time: no pid reuse
  UniqueFd holder_pidfd;
  bool holder_is_child = true;  // false once re-attached after a restart
  int64_t created = 0;          // unix seconds
  int64_t expires_at = 0;       // unix seconds; 0: no TTL
  uint32_t idle_timeout = 0;
  int64_t last_active = 0;
  std::map<std::string, std::string> env;
  std::optional<WorkspaceRequest> workspace;
  bool pooled = false;   // started ahead, not claimed yet
  bool paused = false;
  bool ending = false;   // being deleted
  unsigned active_execs = 0;
  // The exec channel to its nucleus-agent; null for a sandbox started without one or
  // re-attached after a restart (its execs go through `nucleus exec`).
  std::shared_ptr<AgentChannel> agent;
};
using SandboxPtr = std::shared_ptr<Sandbox>;

int64_t now_seconds();

class SandboxManager {
 public:
  SandboxManager(boost::asio::io_context& io, DaemonConfig config, Metrics& metrics);

  boost::asio::io_context& io() { return io_; }
  const DaemonConfig& config() const { return config_; }
  Metrics& metrics() { return metrics_; }

  // A new sandbox of template t (extra: more `run` flags, e.g. a workspace bind), running
  // once this returns; ApiError 500 with the holder's own error when it cannot start.
  boost::asio::awaitable<SandboxPtr> start_sandbox(const Template& t, std::vector<std::string> extra = {});
  // Ends it (its holder is told to end the container, and reaped) and forgets it.
  boost::asio::awaitable<void> destroy(SandboxPtr s);
  // ApiError 404 for an id nobody holds (or one still in a pool).
  SandboxPtr find(const std::string& id) const;
  const std::map<std::string, SandboxPtr>& all() const { return sandboxes_; }
  unsigned live_of(const std::string& template_name) const;
  void persist(const Sandbox& s) const;  // its file under <state>/sandboxes

  // At start-up: holders still alive are adopted, the rest deleted. Returns the adopted.
  boost::asio::awaitable<std::vector<SandboxPtr>> reattach();
  // Every second: TTLs and idle timeouts.
  boost::asio::awaitable<void> sweep_forever();

  // Claims and execs in flight (api/routes.cc, sandbox/exec.cc hold an Activity while
  // they run), and when the last began or ended: the pools refill once it is quiet.
  class Activity {
   public:
    explicit Activity(SandboxManager& m) : m_(m) { ++m_.in_flight_, m_.last_activity_ = std::chrono::steady_clock::now(); }
    ~Activity() { --m_.in_flight_, m_.last_activity_ = std::chrono::steady_clock::now(); }
    Activity(const Activity&) = delete;
    Activity& operator=(const Activity&) = delete;

   private:
    SandboxManager& m_;
  };
  unsigned in_flight() const { return in_flight_; }
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }

  // Called before a TTL or idle timeout deletes a sandbox (the workspace's copy out).
  std::function<boost::asio::awaitable<void>(SandboxPtr)> before_destroy;
  // Called once a sandbox is gone, whatever ended it, with its template: a template at its
  // max_sandboxes has room again (the pools refill).
  std::function<void(const std::string& template_name)> after_forget;

  // `nucleus --root ROOT args...`
  std::vector<std::string> nucleus_argv(std::vector<std::string> args) const;
  // Runs a nucleus verb on a sandbox; ApiError 500 with its stderr when it fails.
  boost::asio::awaitable<void> nucleus_verb(std::string verb, std::string id);

 private:
  boost::asio::awaitable<void> watch_holder(SandboxPtr s);
  void forget(const Sandbox& s);

  boost::asio::io_context& io_;
  DaemonConfig config_;
  Metrics& metrics_;
  std::map<std::string, SandboxPtr> sandboxes_;
  std::map<std::string, unsigned> starting_;  // per template
  unsigned in_flight_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
};

}  // namespace nucleus::daemon
