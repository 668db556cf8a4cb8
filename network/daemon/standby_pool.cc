#include "network/daemon/standby_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <tuple>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/daemon/server_io.h"
#include "network/standby_policy.h"

namespace nucleus::net {

StandbyPool::StandbyPool(const ServeOptions& options, std::string state_dir)
    : options_(options), state_dir_(std::move(state_dir)), pool_(options.pool) {}

void StandbyPool::watch(std::vector<pollfd>& fds) const {
  for (const Standby& s : standbys_) fds.push_back({s.socket.get(), POLLIN, 0});
  for (const Standby& s : handed_) fds.push_back({s.socket.get(), POLLIN, 0});
}

std::optional<pid_t> StandbyPool::hear(int socket) {
  auto by_socket = [socket](const Standby& s) { return s.socket.get() == socket; };
  if (auto it = std::find_if(standbys_.begin(), standbys_.end(), by_socket); it != standbys_.end()) {
    hear_standby(it);
    return std::nullopt;
  }
  if (auto it = std::find_if(handed_.begin(), handed_.end(), by_socket); it != handed_.end()) return hear_handed(it);
  return std::nullopt;
}

void StandbyPool::reaped(pid_t pid) {
  auto standby = std::find_if(standbys_.begin(), standbys_.end(), [pid](const Standby& s) { return s.pid == pid; });
  if (standby != standbys_.end()) {
    if (!standby->ready()) ++failures_;  // it died preparing
    standbys_.erase(standby);
    schedule_refill();
  }
  std::erase_if(handed_, [pid](const Standby& s) { return s.pid == pid; });
}

// A standby says it is ready (with its namespace), or went away. Its socket is
// non-blocking on our side: nothing to read is no reason to wait.
void StandbyPool::hear_standby(std::vector<Standby>::iterator it) {
  Standby& s = *it;
  errno = 0;
  if (std::optional<std::vector<UniqueFd>> prepared = receive_ready(s.socket.get())) {
    s.prepared = std::move(*prepared);
    const bool after_failure = failures_ > 0;
    failures_ = 0;
    if (after_failure && standbys_.size() < pool_) schedule_refill();  // the rest, now it works
    return;
  }
  if (errno == EAGAIN || errno == EINTR) return;
  if (!s.ready()) ++failures_;
  standbys_.erase(it);  // its socket closes: it tears down
  schedule_refill();
}

// A standby handed a container offers its namespace again once the container ended and
// nothing of it is left there (docs/networking.md, "Recycled namespaces"): ready at once,
// in place of one still being prepared if the pool is full; or it went (its socket
// closed: it tore down, or is the container's netd no more).
std::optional<pid_t> StandbyPool::hear_handed(std::vector<Standby>::iterator it) {
  errno = 0;
  std::optional<std::vector<UniqueFd>> prepared = receive_ready(it->socket.get());
  if (!prepared && (errno == EAGAIN || errno == EINTR)) return std::nullopt;
  Standby back = std::move(*it);
  handed_.erase(it);
  if (!prepared || !prepared_) {
    // Its socket closes: it tears down. A namespace expected back that is not (a refused
    // recycle, docs/networking.md) is replaced as any standby gone.
    if (prepared_) schedule_refill();
    return std::nullopt;
  }
  back.prepared = std::move(*prepared);
  const pid_t pid = back.pid;
  standbys_.push_back(std::move(back));
  // Over the pool (the refill came first): those still being prepared go first, then the
  // oldest ready ones; this one, ready now, stays.
  std::stable_partition(standbys_.begin(), standbys_.end(), [](const Standby& s) { return !s.ready(); });
  while (standbys_.size() > pool_) standbys_.erase(standbys_.begin());
  return pid;
}

// To a ready standby when the order is one it can take; else the caller forks a child for
// it. A caller that takes a namespace hears which first.
StandbyPool::Routed StandbyPool::route(const std::optional<AttachOrder>& order, int connection, const int* fds) {
  const bool refilling_works = failures_ == 0;  // not after a standby that failed: one at a time then
  // Another configuration replaces the bridge's base once no container uses it, whoever
  // asks (gVisor, a container making its own namespace): the standbys of the old one go
  // first, never to be handed out on a bridge rebuilt without them.
  if (order && prepared_ && !standby_serves(order->request, *prepared_)) drop_standbys(std::nullopt);
  if (!order || !order->takes_namespace) return {};
  // From here the standbys, if any are prepared, are of the order's configuration.
  if (prepared_) {
    if (Routed r = hand_out(connection, fds, order->takes_mounts, options_.recycle && order->recyclable); r.answered) return r;
  }
  (void)::send(connection, kReplyFresh.data(), kReplyFresh.size(), MSG_NOSIGNAL);
  if (prepared_) {
    if (standbys_.empty() && failures_ == 0) grow_pool();
    schedule_refill();  // a burst is on: not beside it
  }
  prepare_for(standby_request(order->request));
  if (failures_ >= kPoolTimings.max_failures) {  // given up on refilling: each order that found none tries again
    failures_ = 0;
    schedule_refill();
  }
  return {.first_standby = refilling_works};
}

void StandbyPool::after_fresh(const Routed& routed) {
  if (routed.first_standby) prepare_first_standby();
}

// No standby at all, ready or being prepared (the server's first order, a new
// configuration, a burst that took them all): one is prepared at once, after the order's
// own netd, and the rest once the burst is over. A fresh start costs some 20 ms more than
// one that takes a standby; recycled after each container, one standby serves a burst of
// starts one after the other. It never takes the subnet's last free address from the
// start beside it (LeaseStore::allocate), and after failures the refill's pace rules.
void StandbyPool::prepare_first_standby() {
  if (prepared_ && standbys_.empty() && pool_ > 0 && failures_ == 0) (void)fork_standby("none left");
}

// comes_back: the container's order lets its namespace serve the next one once it ends.
StandbyPool::Routed StandbyPool::hand_out(int connection, const int* fds, bool takes_mounts, bool comes_back) {
  auto ready = std::find_if(standbys_.begin(), standbys_.end(), [](const Standby& s) { return s.ready(); });
  if (ready == standbys_.end()) return {};
  // The answer first: whatever the standby says on the connection comes after it. Had the
  // standby gone meanwhile, the connection closes with no report: the start fails closed.
  std::vector<int> prepared;
  for (const UniqueFd& fd : ready->prepared) prepared.push_back(fd.get());
  if (!takes_mounts) prepared.resize(1);  // the namespace alone: the caller makes its own
  if (sys::send_with_fds(connection, kReplyPrepared.data(), kReplyPrepared.size(), prepared.data(), prepared.size()) != 0) {
    return {};
  }
  const pid_t pid = ready->pid;
  int handed[3] = {fds[0], fds[1], connection};
  const bool sent = sys::send_with_fds(ready->socket.get(), kServerAttach.data(), kServerAttach.size(), handed, 3) == 0;
  // Its socket kept: the namespace may come back when the container ends.
  if (sent && options_.recycle) handed_.push_back({pid, std::move(ready->socket), {}});
  standbys_.erase(ready);  // our copies of what it prepared go
  if (++handed_since_refill_ > options_.pool) last_needed_ = Clock::now();  // the grown part is in use
  // One that comes back is replaced only once the starts pause: in a steady stream of
  // short containers the pool keeps itself (a refill a second into it prepared a standby
  // that the next one back then made one too many, torn down: 10 ms of CPU a second).
  schedule_refill(/*soon=*/!comes_back);
  return {true, sent ? pid : -1};
}

// Standbys serve one bridge configuration: another one replaces them.
void StandbyPool::prepare_for(const NetworkRequest& wanted) {
  if (prepared_ && standby_serves(wanted, *prepared_)) return;
  drop_standbys(wanted);
  schedule_refill();
}

// The standbys go (their sockets close: they tear down), the pool back to its size; the
// configuration to prepare next, if any.
void StandbyPool::drop_standbys(std::optional<NetworkRequest> next) {
  prepared_ = std::move(next);
  standbys_.clear();
  handed_.clear();  // serving containers still: their namespaces will not come back
  pool_ = options_.pool;
  failures_ = 0;
}

void StandbyPool::clear() {
  prepared_.reset();
  standbys_.clear();
  handed_.clear();
}

// Off the starts: kPoolTimings.quiet after the last order of the prepared configuration
// (each puts it off again, up to kPoolTimings.latest after the first `soon` one: a steady
// stream of starts that keeps its standbys still gets new ones), and each standby lowers
// its own priority. Preparing beside a burst of starts only slowed them (the standbys'
// namespaces, veths and rules against the starts' own, on the same CPUs and the same
// kernel locks); a burst finds the pool the quiet before it left.
void StandbyPool::schedule_refill(bool soon) {
  const Clock::time_point now = Clock::now();
  const Clock::time_point latest = soon ? now + kPoolTimings.latest : Clock::time_point::max();
  refill_latest_ = refill_at_ ? std::min(refill_latest_, latest) : latest;
  refill_at_ = std::min(now + kPoolTimings.quiet, refill_latest_);
}

// An order of the prepared configuration that found no standby at all, ready or being
// prepared, while none fail: the burst it came in was larger than the pool. The pool grows
// by one (up to kPoolTimings.max_size, or the configured size if that is larger; a pool of
// 0 stays 0: no standbys were asked for) and is refilled once the burst is over; it goes
// back to its configured size after kPoolTimings.shrink_after in which no burst needed more.
void StandbyPool::grow_pool() {
  if (options_.pool == 0 || pool_ >= std::max(options_.pool, kPoolTimings.max_size)) return;
  ++pool_;
  last_needed_ = Clock::now();
}

std::optional<StandbyPool::Clock::time_point> StandbyPool::shrink_at() const {
  if (pool_ <= options_.pool) return std::nullopt;
  return last_needed_ + kPoolTimings.shrink_after;
}

std::optional<StandbyPool::Clock::time_point> StandbyPool::next_due() const {
  std::optional<Clock::time_point> shrink = shrink_at();
  if (!refill_at_) return shrink;
  return shrink ? std::min(*refill_at_, *shrink) : refill_at_;
}

void StandbyPool::run_due() {
  const Clock::time_point now = Clock::now();
  if (refill_at_ && now >= *refill_at_) refill();
  if (std::optional<Clock::time_point> at = shrink_at(); at && now >= *at) shrink_pool();
}

// Those still being prepared go first; a dropped standby's socket closes: it tears down.
void StandbyPool::shrink_pool() {
  pool_ = options_.pool;
  std::stable_partition(standbys_.begin(), standbys_.end(), [](const Standby& s) { return s.ready(); });
  while (standbys_.size() > pool_) standbys_.pop_back();
}

void StandbyPool::refill() {
  refill_at_.reset();
  handed_since_refill_ = 0;
  // A standby that keeps failing (bridge refused, addresses exhausted) is not retried in a
  // loop, and after a failure one is prepared at a time.
  for (size_t forked = 0; prepared_ && standbys_.size() < pool_ && failures_ < kPoolTimings.max_failures &&
                          forked < (failures_ > 0 ? 1 : pool_);
       ++forked) {
    if (!fork_standby()) return;
  }
}

// why: "refill", or "none left" (prepare_first_standby), for the log.
bool StandbyPool::fork_standby(const char* why) {
  UniqueFd mine, theirs;
  try {
    std::tie(mine, theirs) = sys::socketpair(SOCK_SEQPACKET, "prepare a standby");
  } catch (const Error& e) {  // out of fds: a failure like a fork's, not the server's end
    std::cerr << "nucleus-netd serve: " << e.what() << "\n";
    ++failures_;
    return false;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ++failures_;
    return false;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int fd = ::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 64);
    if (fd < 0 || ::dup2(fd, 3) < 0) ::_exit(125);
    sys::raw_close_range(4, ~0u, 0);
    ::_exit(options_.stand_by(3, state_dir_, *prepared_));
  }
  ::fcntl(mine.get(), F_SETFL, O_NONBLOCK);  // ours only: the standby waits on its end
  standbys_.push_back({pid, std::move(mine), {}});
  std::cerr << "nucleus-netd serve: preparing standby " << pid << " (" << standbys_.size() << " of " << pool_ << ", " << why
            << ")\n";
  return true;
}

}  // namespace nucleus::net
