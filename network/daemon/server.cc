#include "network/daemon/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <chrono>
#include <optional>
#include <cstring>
#include <set>
#include <vector>
#include <iostream>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/daemon/server_io.h"
#include "network/ipam/lease_store.h"
#include "network/protocol.h"
#include "network/standby_policy.h"

namespace nucleus::net {
namespace {

using Clock = std::chrono::steady_clock;

// A standby child (network/daemon/standby.h): its socket, and once it is ready, what it
// prepared (network/protocol.h: the namespace first, then its mounts if any).
struct Standby {
  pid_t pid = -1;
  UniqueFd socket;
  std::vector<UniqueFd> prepared;
  bool ready() const { return !prepared.empty(); }
};

class Server {
 public:
  Server(UniqueFd listener, std::string state_dir, std::string socket_path, const ServeOptions& options)
      : listener_(std::move(listener)), state_dir_(std::move(state_dir)), socket_path_(std::move(socket_path)), options_(options) {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    signals_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_) throw_errno("nucleus-netd serve", "signalfd");
    ::stat(socket_path_.c_str(), &socket_);
  }

  int run() {
    last_activity_ = Clock::now();
    for (;;) {
      std::vector<pollfd> p = {{listener_.get(), POLLIN, 0}, {signals_.get(), POLLIN, 0}};
      for (const Standby& s : standbys_) p.push_back({s.socket.get(), POLLIN, 0});
      for (const Standby& s : handed_) p.push_back({s.socket.get(), POLLIN, 0});
      int rc = ::poll(p.data(), p.size(), timeout());
      if (rc < 0 && errno != EINTR) throw_errno("nucleus-netd serve", "poll");
      // Standbys first, by socket: reaping (take_signals) may drop some from the list.
      for (size_t i = 2; rc > 0 && i < p.size(); ++i) {
        if (p[i].revents != 0) hear_standby(p[i].fd);
      }
      if (rc > 0 && (p[1].revents & POLLIN) && take_signals()) return leave();
      if (rc > 0 && (p[0].revents & POLLIN)) accept_all();
      if (refill_at_ && Clock::now() >= *refill_at_) refill();
      if (shrink_at() && Clock::now() >= *shrink_at()) shrink_pool();
      if (children_.empty() && idle_for().count() >= options_.idle_ms) return leave();
    }
  }

 private:
  // How long to sleep: until the pool's refill or shrink is due, or the idle time is out.
  int timeout() const {
    int ms = !children_.empty() ? -1 : std::max<int>(0, options_.idle_ms - static_cast<int>(idle_for().count()));
    for (std::optional<Clock::time_point> at : {refill_at_, shrink_at()}) {
      if (!at) continue;
      auto due = std::chrono::ceil<std::chrono::milliseconds>(*at - Clock::now()).count();  // no poll(0) spin
      int until = static_cast<int>(std::max<long long>(0, due));
      ms = ms < 0 ? until : std::min(ms, until);
    }
    return ms;
  }

  std::chrono::milliseconds idle_for() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_activity_);
  }

  // Reaps children; true when asked to stop.
  bool take_signals() {
    signalfd_siginfo info;
    bool stop = false;
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo != SIGCHLD) stop = true;
    }
    pid_t pid;
    while ((pid = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
      auto standby = std::find_if(standbys_.begin(), standbys_.end(), [pid](const Standby& s) { return s.pid == pid; });
      if (standby != standbys_.end()) {
        if (!standby->ready()) ++failures_;  // it died preparing
        standbys_.erase(standby);
        schedule_refill();
      }
      std::erase_if(handed_, [pid](const Standby& s) { return s.pid == pid; });
      // A standby dropped before (its socket closed) is no container's: not counted.
      if (children_.erase(pid) > 0) last_activity_ = Clock::now();
    }
    return stop;
  }

  // A standby says it is ready (with its namespace), or went away. Its socket is
  // non-blocking on our side: nothing to read is no reason to wait.
  void hear_standby(int socket) {
    auto it = std::find_if(standbys_.begin(), standbys_.end(), [socket](const Standby& s) { return s.socket.get() == socket; });
    if (it == standbys_.end()) return hear_handed(socket);
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
  void hear_handed(int socket) {
    auto it = std::find_if(handed_.begin(), handed_.end(), [socket](const Standby& s) { return s.socket.get() == socket; });
    if (it == handed_.end()) return;
    errno = 0;
    std::optional<std::vector<UniqueFd>> prepared = receive_ready(it->socket.get());
    if (!prepared && (errno == EAGAIN || errno == EINTR)) return;
    Standby back = std::move(*it);
    handed_.erase(it);
    if (!prepared || !prepared_) {
      // Its socket closes: it tears down. A namespace expected back that is not (a refused
      // recycle, docs/networking.md) is replaced as any standby gone.
      if (prepared_) schedule_refill();
      return;
    }
    back.prepared = std::move(*prepared);
    children_.erase(back.pid);  // a standby again, no container's
    last_activity_ = Clock::now();
    standbys_.push_back(std::move(back));
    // Over the pool (the refill came first): those still being prepared go first, then the
    // oldest ready ones; this one, ready now, stays.
    std::stable_partition(standbys_.begin(), standbys_.end(), [](const Standby& s) { return !s.ready(); });
    while (standbys_.size() > pool_) standbys_.erase(standbys_.begin());
  }

  void accept_all() {
    for (;;) {
      UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection) return;  // EAGAIN: none left
      last_activity_ = Clock::now();
      serve_one(connection.get());
    }
  }

  void serve_one(int connection) {
    ucred peer{};
    socklen_t size = sizeof peer;
    // Only our own user (root) may have containers attached: the socket's mode says so too.
    if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != ::geteuid()) return;
    char word[16];
    int fds[2];
    size_t count = 0;
    ssize_t n = sys::recv_with_fds(connection, word, sizeof word, fds, 2, &count);
    bool valid = n == static_cast<ssize_t>(kServerAttach.size()) && kServerAttach == std::string_view(word, static_cast<size_t>(n)) &&
                 count == 2;
    if (valid) route(connection, fds);
    for (size_t i = 0; i < count; ++i) ::close(fds[i]);
  }

  // To a ready standby when the order is one it can take; else to a child forked for it.
  // A caller that takes a namespace hears which first.
  void route(int connection, const int* fds) {
    std::optional<AttachOrder> order = peek_order(fds[1]);
    const bool refilling_works = failures_ == 0;  // not after a standby that failed: one at a time then
    // Another configuration replaces the bridge's base once no container uses it, whoever
    // asks (gVisor, a container making its own namespace): the standbys of the old one go
    // first, never to be handed out on a bridge rebuilt without them.
    if (order && prepared_ && !standby_serves(order->request, *prepared_)) drop_standbys(std::nullopt);
    if (order && order->takes_namespace) {
      if (prepared_ && standby_serves(order->request, *prepared_) &&
          hand_to_standby(connection, fds, order->takes_mounts, options_.recycle && order->recyclable)) {
        return;
      }
      (void)::send(connection, kReplyFresh.data(), kReplyFresh.size(), MSG_NOSIGNAL);
      if (prepared_ && standby_serves(order->request, *prepared_)) {
        if (standbys_.empty() && failures_ == 0) grow_pool();
        schedule_refill();  // a burst is on: not beside it
      }
      prepare_for(standby_request(order->request));
      if (failures_ >= kPoolTimings.max_failures) {  // given up on refilling: each order that found none tries again
        failures_ = 0;
        schedule_refill();
      }
    }
    fork_child(connection, fds);
    if (order && order->takes_namespace && refilling_works) prepare_first_standby();
  }

  // No standby at all, ready or being prepared (the server's first order, a new
  // configuration, a burst that took them all): one is prepared at once, after the order's
  // own netd, and the rest once the burst is over. A fresh start costs some 20 ms more than
  // one that takes a standby; recycled after each container, one standby serves a burst of
  // starts one after the other. It never takes the subnet's last free address from the
  // start beside it (LeaseStore::allocate), and after failures the refill's pace rules.
  void prepare_first_standby() {
    if (prepared_ && standbys_.empty() && pool_ > 0 && failures_ == 0) (void)fork_standby("none left");
  }

  // comes_back: the container's order lets its namespace serve the next one once it ends.
  bool hand_to_standby(int connection, const int* fds, bool takes_mounts, bool comes_back) {
    auto ready = std::find_if(standbys_.begin(), standbys_.end(), [](const Standby& s) { return s.ready(); });
    if (ready == standbys_.end()) return false;
    // The answer first: whatever the standby says on the connection comes after it. Had the
    // standby gone meanwhile, the connection closes with no report: the start fails closed.
    std::vector<int> prepared;
    for (const UniqueFd& fd : ready->prepared) prepared.push_back(fd.get());
    if (!takes_mounts) prepared.resize(1);  // the namespace alone: the caller makes its own
    if (sys::send_with_fds(connection, kReplyPrepared.data(), kReplyPrepared.size(), prepared.data(), prepared.size()) != 0) {
      return false;
    }
    int handed[3] = {fds[0], fds[1], connection};
    if (sys::send_with_fds(ready->socket.get(), kServerAttach.data(), kServerAttach.size(), handed, 3) == 0) {
      children_.insert(ready->pid);  // from now on a container's netd: reaped as one
      // Its socket kept: the namespace may come back when the container ends.
      if (options_.recycle) handed_.push_back({ready->pid, std::move(ready->socket), {}});
    }
    standbys_.erase(ready);  // our copies of what it prepared go
    if (++handed_since_refill_ > options_.pool) last_needed_ = Clock::now();  // the grown part is in use
    // One that comes back is replaced only once the starts pause: in a steady stream of
    // short containers the pool keeps itself (a refill a second into it prepared a standby
    // that the next one back then made one too many, torn down: 10 ms of CPU a second).
    schedule_refill(/*soon=*/!comes_back);
    return true;
  }

  // Standbys serve one bridge configuration: another one replaces them.
  void prepare_for(const NetworkRequest& wanted) {
    if (prepared_ && standby_serves(wanted, *prepared_)) return;
    drop_standbys(wanted);
    schedule_refill();
  }

  // The standbys go (their sockets close: they tear down), the pool back to its size; the
  // configuration to prepare next, if any.
  void drop_standbys(std::optional<NetworkRequest> next) {
    prepared_ = std::move(next);
    standbys_.clear();
    handed_.clear();  // serving containers still: their namespaces will not come back
    pool_ = options_.pool;
    failures_ = 0;
  }

  // Off the starts: kPoolTimings.quiet after the last order of the prepared configuration
  // (each puts it off again, up to kPoolTimings.latest after the first `soon` one: a steady
  // stream of starts that keeps its standbys still gets new ones), and each standby lowers
  // its own priority. Preparing beside a burst of starts only slowed them (the standbys'
  // namespaces, veths and rules against the starts' own, on the same CPUs and the same
  // kernel locks); a burst finds the pool the quiet before it left.
  void schedule_refill(bool soon = true) {
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
  void grow_pool() {
    if (options_.pool == 0 || pool_ >= std::max(options_.pool, kPoolTimings.max_size)) return;
    ++pool_;
    last_needed_ = Clock::now();
  }

  std::optional<Clock::time_point> shrink_at() const {
    if (pool_ <= options_.pool) return std::nullopt;
    return last_needed_ + kPoolTimings.shrink_after;
  }

  // Those still being prepared go first; a dropped standby's socket closes: it tears down.
  void shrink_pool() {
    pool_ = options_.pool;
    std::stable_partition(standbys_.begin(), standbys_.end(), [](const Standby& s) { return s.ready(); });
    while (standbys_.size() > pool_) standbys_.pop_back();
  }

  void refill() {
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
  bool fork_standby(const char* why = "refill") {
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
    std::cerr << "nucleus-netd serve: preparing standby " << pid << " (" << standbys_.size() << " of " << pool_ << ", "
              << why << ")\n";
    return true;
  }

  void fork_child(int connection, const int* fds) {
    pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "nucleus-netd serve: fork: " << std::strerror(errno) << "\n";
      return;  // the connection closes: that attach fails, nothing was made
    }
    if (pid > 0) {
      children_.insert(pid);
      return;
    }
    // The child: one container's netd, as if started by fork + exec.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    lay_out_attach_fds(fds[0], fds[1], connection);
    ::_exit(options_.attach());
  }

  int leave() {
    // No request from here on: the path goes first (only if it is still ours), then what
    // connected before that is served, so no attach is left unanswered. The standbys go:
    // their sockets close and each tears down what it prepared.
    struct stat now;
    if (::stat(socket_path_.c_str(), &now) == 0 && now.st_ino == socket_.st_ino && now.st_dev == socket_.st_dev) {
      ::unlink(socket_path_.c_str());
    }
    prepared_.reset();
    standbys_.clear();
    handed_.clear();
    accept_all();
    standbys_.clear();
    handed_.clear();
    return 0;
  }


  UniqueFd listener_, signals_;
  std::string state_dir_, socket_path_;
  struct stat socket_ {};
  ServeOptions options_;
  std::set<pid_t> children_;  // containers' netds: forked, or standbys handed a container
  Clock::time_point last_activity_;
  std::optional<NetworkRequest> prepared_;  // what the standbys are prepared for
  std::vector<Standby> standbys_;
  std::vector<Standby> handed_;  // standbys serving a container: their namespaces may come back
  size_t pool_ = options_.pool;  // how many standbys to keep: grows with the bursts (grow_pool)
  Clock::time_point last_needed_;  // the last growth, or hand-out beyond the configured size
  size_t handed_since_refill_ = 0;
  std::optional<Clock::time_point> refill_at_;
  Clock::time_point refill_latest_;  // the latest refill_at_ may be put off to
  int failures_ = 0;
};

}  // namespace

void lay_out_attach_fds(int log, int order, int control) {
  int sources[3] = {log, order, control};
  int high[3];
  for (int i = 0; i < 3; ++i) high[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, 64);
  for (int i = 0; i < 3; ++i) {
    int target = 2 + i;
    if (high[i] < 0) {
      ::close(target);
    } else if (::dup2(high[i], target) < 0) {
      ::_exit(125);
    }
  }
  sys::raw_close_range(5, ~0u, 0);
}

int serve(const std::string& state_dir, const std::string& tag, const ServeOptions& options) {
  LeaseStore store(state_dir);  // makes the 0700 directories
  ServerPaths paths = server_paths(state_dir, tag);
  UniqueFd lock = sys::open(paths.lock, O_RDWR | O_CREAT | O_CLOEXEC, "open " + paths.lock, 0600);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return 0;  // another server of this build serves
    throw_errno("lock " + paths.lock);
  }
  UniqueFd listener = listen_at(paths.socket);
  warm_up_name_services();
  // The server holds none of its starter's stdin or stdout (a reader of those would wait
  // for it); its stderr is the log it was given.
  UniqueFd null = sys::open("/dev/null", O_RDWR | O_CLOEXEC, "open /dev/null");
  if (::dup2(null.get(), 0) < 0 || ::dup2(null.get(), 1) < 0) throw_errno("nucleus-netd serve", "/dev/null");
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("nucleus-netd serve", "fork");
  if (pid > 0) {
    // The caller waits for us: the socket accepts, the lock names the server.
    std::optional<sys::ProcessStat> stat = sys::process_stat(pid);
    std::string owner = std::to_string(pid) + " " + std::to_string(stat ? stat->start_time : 0) + "\n";
    bool written = ::ftruncate(lock.get(), 0) == 0 &&
                   ::pwrite(lock.get(), owner.data(), owner.size(), 0) == static_cast<ssize_t>(owner.size());
    ::_exit(written ? 0 : 1);
  }
  return Server(std::move(listener), state_dir, paths.socket, options).run();
}

}  // namespace nucleus::net
