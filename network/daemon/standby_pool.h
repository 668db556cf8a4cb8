#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/sys/unique_fd.h"
#include "network/daemon/server.h"
#include "network/protocol.h"

// The resident netd's standbys (docs/networking.md, "Prepared namespaces" and "Recycled
// namespaces"): which one an order is handed, when the pool is refilled, grown and shrunk,
// and the handed ones whose namespaces may come back when their containers end. The server
// (server.cc) accepts, routes, forks the containers' own netds and reaps; each standby is a
// child of it too (network/daemon/standby.h). The timings are kPoolTimings
// (network/standby_policy.h).
namespace nucleus::net {

class StandbyPool {
 public:
  using Clock = std::chrono::steady_clock;

  StandbyPool(const ServeOptions& options, std::string state_dir);

  // Every standby's socket, ready or handed, for the server's poll.
  void watch(std::vector<pollfd>& fds) const;
  // What one of those sockets said: a standby ready, one gone, a namespace back. Returns the
  // pid of a handed standby that is a standby again (no container's netd any more), if so.
  std::optional<pid_t> hear(int socket);
  // A child reaped: a standby's end counts as one gone.
  void reaped(pid_t pid);

  // An order: answered by a ready standby when it takes a namespace of the configuration
  // prepared (`netd`: the standby's pid, a container's netd from now on, unless it was gone
  // meanwhile: the connection then closes with no report and the start fails closed).
  // Otherwise the caller was answered "fresh" (if it takes a namespace) and the server forks
  // a netd for it, then calls after_fresh with what route returned.
  struct Routed {
    bool answered = false;
    pid_t netd = -1;
    bool first_standby = false;  // no standby at all may be prepared at once (not after failures)
  };
  Routed route(const std::optional<AttachOrder>& order, int connection, const int* fds);
  void after_fresh(const Routed& routed);

  // When the refill or the shrink is due, and doing it.
  std::optional<Clock::time_point> next_due() const;
  void run_due();
  // Every standby goes (their sockets close: each tears down what it prepared).
  void clear();

 private:
  // A standby child: its socket, and once it is ready, what it prepared (network/protocol.h:
  // the namespace first, then its mounts if any).
  struct Standby {
    pid_t pid = -1;
    UniqueFd socket;
    std::vector<UniqueFd> prepared;
    bool ready() const { return !prepared.empty(); }
  };

  void hear_standby(std::vector<Standby>::iterator it);
  std::optional<pid_t> hear_handed(std::vector<Standby>::iterator it);
  void prepare_first_standby();
  Routed hand_out(int connection, const int* fds, bool takes_mounts, bool comes_back);
  void prepare_for(const NetworkRequest& wanted);
  void drop_standbys(std::optional<NetworkRequest> next);
  void schedule_refill(bool soon = true);
  void grow_pool();
  std::optional<Clock::time_point> shrink_at() const;
  void shrink_pool();
  void refill();
  bool fork_standby(const char* why = "refill");

  ServeOptions options_;
  std::string state_dir_;
  std::optional<NetworkRequest> prepared_;  // what the standbys are prepared for
  std::vector<Standby> standbys_;
  std::vector<Standby> handed_;  // standbys serving a container: their namespaces may come back
  size_t pool_;  // how many standbys to keep: grows with the bursts (grow_pool)
  Clock::time_point last_needed_;  // the last growth, or hand-out beyond the configured size
  size_t handed_since_refill_ = 0;
  std::optional<Clock::time_point> refill_at_;
  Clock::time_point refill_latest_;  // the latest refill_at_ may be put off to
  int failures_ = 0;
};

}  // namespace nucleus::net
