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
#include <iostream>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/ipam/lease_store.h"
#include "network/protocol.h"

namespace nucleus::net {
namespace {

using Clock = std::chrono::steady_clock;

UniqueFd listen_at(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw Error("listen at " + path, "path too long for a unix socket");
  path.copy(address.sun_path, path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw_errno("listen at " + path);
  ::unlink(path.c_str());  // a dead server's: we hold the lock
  mode_t old = ::umask(0077);  // root only (the state directory is 0700 as well)
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::umask(old);
  if (rc != 0) throw_errno("listen at " + path);
  if (::listen(fd.get(), 64) != 0) throw_errno("listen at " + path);
  return fd;
}

// Moves the passed descriptors to the numbers netd's attach reads (network/protocol.h):
// 2 log, 3 order, 4 control (the connection); nothing else stays open.
void lay_out_child_fds(int connection, const int* fds) {
  int sources[3] = {fds[0], fds[1], connection};
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

// What every child would otherwise load on its first rule naming a protocol (nft resolves
// "tcp", "udp" through NSS, which dlopens its modules and reads /etc/protocols): loaded
// once here, inherited by every fork.
void warm_up_name_services() {
  for (const char* proto : {"tcp", "udp", "ipv6-icmp", "icmp"}) ::getprotobyname(proto);
  ::endprotoent();
}

class Server {
 public:
  Server(UniqueFd listener, std::string socket_path, int idle_ms, int (*attach)())
      : listener_(std::move(listener)), socket_path_(std::move(socket_path)), idle_ms_(idle_ms), attach_(attach) {
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
      pollfd p[2] = {{listener_.get(), POLLIN, 0}, {signals_.get(), POLLIN, 0}};
      int timeout = children_ > 0 ? -1 : std::max<int>(0, idle_ms_ - static_cast<int>(idle_for().count()));
      int rc = ::poll(p, 2, timeout);
      if (rc < 0 && errno != EINTR) throw_errno("nucleus-netd serve", "poll");
      if (rc > 0 && (p[1].revents & POLLIN) && take_signals()) return leave();
      if (rc > 0 && (p[0].revents & POLLIN)) accept_all();
      if (children_ == 0 && idle_for().count() >= idle_ms_) return leave();
    }
  }

 private:
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
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      --children_;
      last_activity_ = Clock::now();
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
    if (valid) fork_child(connection, fds);
    for (size_t i = 0; i < count; ++i) ::close(fds[i]);
  }

  void fork_child(int connection, const int* fds) {
    pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "nucleus-netd serve: fork: " << std::strerror(errno) << "\n";
      return;  // the connection closes: that attach fails, nothing was made
    }
    if (pid > 0) {
      ++children_;
      return;
    }
    // The child: one container's netd, as if started by fork + exec.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    lay_out_child_fds(connection, fds);
    ::_exit(attach_());
  }

  int leave() {
    // No request from here on: the path goes first (only if it is still ours), then what
    // connected before that is served, so no attach is left unanswered.
    struct stat now;
    if (::stat(socket_path_.c_str(), &now) == 0 && now.st_ino == socket_.st_ino && now.st_dev == socket_.st_dev) {
      ::unlink(socket_path_.c_str());
    }
    accept_all();
    return 0;
  }

  UniqueFd listener_, signals_;
  std::string socket_path_;
  struct stat socket_ {};
  int idle_ms_;
  int (*attach_)();
  int children_ = 0;
  Clock::time_point last_activity_;
};

}  // namespace

int serve(const std::string& state_dir, const std::string& tag, int idle_ms, int (*attach)()) {
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
  return Server(std::move(listener), paths.socket, idle_ms, attach).run();
}

}  // namespace nucleus::net
