#include "network/daemon/keeper.h"

#include <sched.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/netlink/links.h"
#include "network/protocol.h"

namespace nucleus::net {

namespace asio = boost::asio;

std::string read_order() {
  std::string text;
  char buffer[65536];
  ssize_t n;
  ::lseek(kOrderFd, 0, SEEK_SET);
  while ((n = ::read(kOrderFd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  if (n < 0) throw_errno("read the network order");
  ::close(kOrderFd);
  return text;
}

void send_control(const std::string& message) {
  ::send(kControlFd, message.data(), message.size(), MSG_NOSIGNAL);
}

namespace {

// Serves the forwarder until nucleus releases the network, nucleus goes away without
// detaching it, the container ends (after a detach), or a signal asks it to stop. With
// may_recycle, the container being done with its network stops it without a teardown
// (handed_back()): the standby that served it decides whether its namespace serves another.
// The stop signals stay blocked for the process's life and are read here through a
// signalfd: one that comes while no Keeper listens stays pending, never in a queue of a
// Keeper gone (a standby's next container would have been stopped by it).
class Keeper {
 public:
  Keeper(asio::io_context& io, AttachedNetwork& attached, Nftables& nft, LeaseStore& store, UniqueFd container_pidfd,
         const sigset_t& stops, bool may_recycle)
      : io_(io), attached_(attached), nft_(nft), store_(store), control_(io, ::dup(kControlFd)),
        signals_(io, ::signalfd(-1, &stops, SFD_NONBLOCK | SFD_CLOEXEC)), may_recycle_(may_recycle) {
    watch_signals();
    watch_control();
    if (container_pidfd) {
      container_ = std::make_unique<asio::posix::stream_descriptor>(io, container_pidfd.release());
      container_->async_wait(asio::posix::stream_descriptor::wait_read, [this, alive = alive_](auto ec) {
        if (!ec && *alive) stop(false, true);
      });
    }
  }
  // A handler of this Keeper's still queued when it goes (its wait completed in the same
  // round as the one that stopped the loop) runs in the next Keeper's loop: it finds
  // `alive` false and touches nothing.
  ~Keeper() { *alive_ = false; }
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

  bool handed_back() const { return handed_back_; }
  // The container's init (a pidfd), or -1 when nucleus gave none.
  int container_pidfd() const { return container_ ? container_->native_handle() : -1; }
  // After a hand-back: what a release asked for is done.
  void answer_release() const {
    if (answer_) send_control(std::string(kReplyReleased));
  }

 private:
  void watch_signals() {
    signals_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive = alive_](auto ec) {
      if (ec || !*alive) return;
      signalfd_siginfo info;
      if (::read(signals_.native_handle(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return watch_signals();
      stop(false, false);  // somebody stops us and waits (stop_owner): no giving way
    });
  }

  void watch_control() {
    control_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive = alive_](auto ec) {
      if (ec || !*alive) return;
      char buffer[64];
      ssize_t n = ::recv(control_.native_handle(), buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return watch_control();
      std::string command(buffer, n > 0 ? static_cast<size_t>(n) : 0);
      if (command == kCommandRelease) return stop(true, true);
      if (command == kCommandDetach) {
        detached_ = true;
        return watch_control();
      }
      if (n <= 0 && detached_) return;  // nucleus left; the container's end stops us
      if (n <= 0) return stop(false, true);  // nucleus died without releasing: fail closed, tear down
      watch_control();
    });
  }

  // give_way: the container is done with its network (it ended, or nucleus released or
  // left it), and nobody waits for the teardown but the lease's next taker. The teardown
  // then runs at idle priority, so that the next containers' starts come first (any other
  // task that wakes on its CPU preempts it at once, whatever its autogroup); whoever does
  // wait for it (an attach of the same id, a clean-up) lifts it back (network/daemon/
  // teardown.cc, wait_lifting).
  void stop(bool answer, bool give_way) {
    if (stopping_) return;
    stopping_ = true;
    answer_ = answer;
    if (give_way) {
      sched_param idle{};
      ::sched_setscheduler(0, SCHED_IDLE, &idle);
    }
    if (give_way && may_recycle_) {  // checked and reset at idle priority too, as a teardown
      handed_back_ = true;
      io_.stop();
      return;
    }
    release_network(attached_, nft_, store_);
    if (answer) send_control(std::string(kReplyReleased));
    io_.stop();
  }

  asio::io_context& io_;
  AttachedNetwork& attached_;
  Nftables& nft_;
  LeaseStore& store_;
  asio::posix::stream_descriptor control_;
  asio::posix::stream_descriptor signals_;
  std::unique_ptr<asio::posix::stream_descriptor> container_;
  bool detached_ = false;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool may_recycle_ = false;
  bool handed_back_ = false;
  bool answer_ = false;
};

// A stop asked for before the container's lease was renamed was for that container (the
// lease named its id: network/daemon/teardown.h, cleanup_container_network), done by the
// reset: dropped, not left pending for the next container's netd.
void drop_pending_stops(const sigset_t& stops) {
  timespec none{};
  while (::sigtimedwait(&stops, nullptr, &none) > 0) {
  }
}

// After the container ended, with recycling: its namespace made a standby's again when
// nothing of the container is left in it (kRecycled), else everything torn down (0).
int recycle_or_release(const Keeper& keeper, AttachedNetwork& attached, Nftables& nft, LeaseStore& store,
                       boost::asio::io_context& io, Recycling& r, const sigset_t& stops) {
  // The container's log goes with its id: this file, not one a start of the same name may
  // have made at that path since.
  struct stat log {};
  ::fstat(STDERR_FILENO, &log);
  ::dup2(r.log, STDERR_FILENO);
  const std::string id = attached.lease.id;
  std::optional<std::string> refusal = recycle_refusal(r.netns, r.baseline, keeper.container_pidfd());
  if (!refusal) {
    try {
      // The route caches (path MTUs learnt of its peers) only where it exchanged anything.
      auto forget_flows = [&r] {
        const bool exchanged = exchanged_traffic(r.netns, r.baseline);
        if (exchanged) flush_route_caches_in(r.netns);
        return exchanged;
      };
      reset_to_standby(attached, r.request, r.standby_id, forget_flows, io, nft, store);
      struct stat now {};
      const std::string path = store.log_path(id);
      if (::stat(path.c_str(), &now) == 0 && now.st_ino == log.st_ino && now.st_dev == log.st_dev) ::unlink(path.c_str());
      drop_pending_stops(stops);
      keeper.answer_release();
      return kRecycled;  // offered again at normal priority (standby.cc)
    } catch (const Error& e) {
      refusal = e.what();
    }
  }
  std::cerr << "nucleus-netd: the namespace of " << id << " serves no other container: " << *refusal << "\n";
  release_network(attached, nft, store);
  keeper.answer_release();
  return 0;
}

// The container's network namespace and, optionally, its pidfd from nucleus, once they
// exist. No namespace when nucleus gave up on the container instead (release, or gone).
struct ContainerFds {
  UniqueFd netns, pidfd;
};
ContainerFds receive_namespace() {
  char word[16];
  int fds[2];
  size_t count = 0;
  ssize_t n = sys::recv_with_fds(kControlFd, word, sizeof word, fds, 2, &count);
  ContainerFds got{UniqueFd(count > 0 ? fds[0] : -1), UniqueFd(count > 1 ? fds[1] : -1)};
  if (n != static_cast<ssize_t>(kCommandNetns.size()) || kCommandNetns != std::string_view(word, static_cast<size_t>(n))) return {};
  return got;
}

}  // namespace

int keep_attached(asio::io_context& io, AttachedNetwork& attached, Nftables& nft, LeaseStore& store, const sigset_t& stops,
                  std::optional<ino_t> prepared, Recycling* recycling) {
  ContainerFds container = receive_namespace();
  if (!container.netns) {  // the container was never made: what was prepared goes
    release_network(attached, nft, store);
    return 0;
  }
  try {
    if (prepared) {
      struct stat st {};
      if (::fstat(container.netns.get(), &st) != 0 || st.st_ino != *prepared) {
        release_network(attached, nft, store);
        throw Error("attach the network of " + attached.lease.id, "the container is not in the namespace prepared for it");
      }
      attached.forwarder->start();
    } else {
      enter_namespace(attached, container.netns.get(), nft, store);
    }
  } catch (const Error& e) {
    send_control(report_error(e));
    return e.exit_code();
  }
  container.netns.reset();  // the container's namespace is not ours to keep alive
  // Test-only (like NUCLEUS_TEST_ABLATE): a report of failure, that many milliseconds late,
  // in place of the good one: nucleus must start nothing of the workload (docs/networking.md).
  if (const char* late = std::getenv("NUCLEUS_TEST_NETD_FAIL_REPORT_MS")) {
    ::usleep(static_cast<useconds_t>(std::clamp(std::atoi(late), 0, 5000)) * 1000);
    release_network(attached, nft, store);
    send_control(report_error(Error("attach the network of " + attached.lease.id, "failed as NUCLEUS_TEST_NETD_FAIL_REPORT_MS asked")));
    return 125;
  }
  Keeper keeper(io, attached, nft, store, std::move(container.pidfd), stops, recycling != nullptr);
  send_control(report_ok(attached.lease));
  io.run();
  if (!keeper.handed_back()) return 0;
  return recycle_or_release(keeper, attached, nft, store, io, *recycling, stops);
}

sigset_t block_stops() {
  sigset_t stops;
  sigemptyset(&stops);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stops, sig);
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);
  return stops;
}

}  // namespace nucleus::net
