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
#include "network/daemon/standby_pool.h"
#include "network/ipam/lease_store.h"
#include "network/protocol.h"

namespace nucleus::net {
namespace {

using Clock = std::chrono::steady_clock;

class Server {
 public:
  Server(UniqueFd listener, std::string state_dir, std::string socket_path, const ServeOptions& options)
      : listener_(std::move(listener)), socket_path_(std::move(socket_path)), options_(options), pool_(options, state_dir) {
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
      pool_.watch(p);
      int rc = ::poll(p.data(), p.size(), timeout());
      if (rc < 0 && errno != EINTR) throw_errno("nucleus-netd serve", "poll");
      // Standbys first, by socket: reaping (take_signals) may drop some from the pool.
      for (size_t i = 2; rc > 0 && i < p.size(); ++i) {
        if (p[i].revents == 0) continue;
        if (std::optional<pid_t> back = pool_.hear(p[i].fd)) {
          children_.erase(*back);  // a standby again, no container's
          last_activity_ = Clock::now();
        }
      }
      if (rc > 0 && (p[1].revents & POLLIN) && take_signals()) return leave();
      if (rc > 0 && (p[0].revents & POLLIN)) accept_all();
      pool_.run_due();
      if (children_.empty() && idle_for().count() >= options_.idle_ms) return leave();
    }
  }

 private:
  // How long to sleep: until the pool's refill or shrink is due, or the idle time is out.
  int timeout() const {
    int ms = !children_.empty() ? -1 : std::max<int>(0, options_.idle_ms - static_cast<int>(idle_for().count()));
    if (std::optional<Clock::time_point> at = pool_.next_due()) {
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
      pool_.reaped(pid);
      // A standby dropped before (its socket closed) is no container's: not counted.
      if (children_.erase(pid) > 0) last_activity_ = Clock::now();
    }
    return stop;
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

  // To a ready standby when the order is one it can take (standby_pool.h); else to a child
  // forked for it. A caller that takes a namespace hears which first.
  void route(int connection, const int* fds) {
    std::optional<AttachOrder> order = peek_order(fds[1]);
    StandbyPool::Routed routed = pool_.route(order, connection, fds);
    if (routed.answered) {
      if (routed.netd > 0) children_.insert(routed.netd);  // from now on a container's netd: reaped as one
      return;
    }
    fork_child(connection, fds);
    pool_.after_fresh(routed);
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
    pool_.clear();
    accept_all();
    pool_.clear();
    return 0;
  }

  UniqueFd listener_, signals_;
  std::string socket_path_;
  struct stat socket_ {};
  ServeOptions options_;
  StandbyPool pool_;
  std::set<pid_t> children_;  // containers' netds: forked, or standbys handed a container
  Clock::time_point last_activity_;
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
