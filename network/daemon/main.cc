// nucleus-netd: the process that keeps one container's network (docs/networking.md,
// "Processes"). nucleus is a static binary and Debian ships libnftables only as a shared
// library, and the DNS forwarder must run beside the container anyway: so the netlink,
// nftables and DNS work live here, in a dynamically linked helper nucleus starts.
//
//   nucleus-netd attach                      fds 2-4 as in network/protocol.h
//   nucleus-netd serve --state-dir D --tag T [--idle-ms MS] [--pool N]
//                                            the resident server (daemon/server.h), whose
//                                            children run `attach` for each connection
//   nucleus-netd cleanup --state-dir D ID    what `cleanup_container_network` runs
//   nucleus-netd collect --state-dir D [--remove-idle-bridge NAME]
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include "core/sys/error.h"
#include "core/sys/exit_codes.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/daemon/attach.h"
#include "network/daemon/server.h"
#include "network/daemon/teardown.h"
#include "network/firewall/ruleset.h"
#include "network/host_network.h"
#include "network/naming.h"
#include "network/protocol.h"
#include "network/standby_policy.h"

namespace nucleus::net {
namespace {
namespace asio = boost::asio;

// How long the resident server stays without a container to serve: long enough for a
// host starting containers now and then to keep it, short enough not to linger.
constexpr int kServerIdleMs = 60000;
// Standbys kept ready: two, so that back-to-back starts find one while the last is refilled.
constexpr size_t kDefaultPool = 2;

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

// Serves the forwarder until nucleus releases the network, nucleus goes away without
// detaching it, the container ends (after a detach), or a signal asks it to stop.
class Keeper {
 public:
  Keeper(asio::io_context& io, AttachedNetwork& attached, Nftables& nft, LeaseStore& store, UniqueFd container_pidfd)
      : io_(io), attached_(attached), nft_(nft), store_(store), control_(io, ::dup(kControlFd)), signals_(io, SIGTERM, SIGINT, SIGHUP) {
    signals_.async_wait([this](auto ec, int) {
      if (!ec) stop(false, false);  // somebody stops us and waits (stop_owner): no giving way
    });
    watch_control();
    if (container_pidfd) {
      container_ = std::make_unique<asio::posix::stream_descriptor>(io, container_pidfd.release());
      container_->async_wait(asio::posix::stream_descriptor::wait_read, [this](auto ec) {
        if (!ec) stop(false, true);
      });
    }
  }

 private:
  void watch_control() {
    control_.async_wait(asio::posix::stream_descriptor::wait_read, [this](auto ec) {
      if (ec) return;
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
    if (give_way) {
      sched_param idle{};
      ::sched_setscheduler(0, SCHED_IDLE, &idle);
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
  asio::signal_set signals_;
  std::unique_ptr<asio::posix::stream_descriptor> container_;
  bool detached_ = false;
  bool stopping_ = false;
};

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

// Once the network is prepared: waits for the container's namespace (its pidfd with it),
// attaches to it (unless prepared in it already: `prepared` is that namespace's inode),
// reports, and keeps the network until it is released.
int keep_attached(asio::io_context& io, AttachedNetwork& attached, Nftables& nft, LeaseStore& store, const sigset_t& stops,
                  std::optional<ino_t> prepared) {
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
  Keeper keeper(io, attached, nft, store, std::move(container.pidfd));
  ::sigprocmask(SIG_UNBLOCK, &stops, nullptr);
  send_control(report_ok(attached.lease));
  io.run();
  return 0;
}

// A stop asked for during the attach is taken once the Keeper listens: nothing half made
// is left behind by a signal's default action.
sigset_t block_stops() {
  sigset_t stops;
  sigemptyset(&stops);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stops, sig);
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);
  return stops;
}

int attach() {
  sigset_t stops = block_stops();
  AttachOrder order;
  std::unique_ptr<LeaseStore> store;
  Nftables nft;
  asio::io_context io;
  AttachedNetwork attached;
  try {
    order = order_from_json(read_order());
    store = std::make_unique<LeaseStore>(order.state_dir);
    attached = prepare_network(order, io, nft, *store);
  } catch (const Error& e) {
    send_control(report_error(e));
    return e.exit_code();
  }
  return keep_attached(io, attached, nft, *store, stops, std::nullopt);
}

// A new network namespace, held by the returned fd; this process stays in its own.
UniqueFd make_network_namespace() {
  UniqueFd own = sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open netd's network namespace");
  if (::unshare(CLONE_NEWNET) != 0) throw_errno("prepare a network namespace", "unshare");
  UniqueFd made = sys::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC, "open the prepared network namespace");
  if (::setns(own.get(), CLONE_NEWNET) != 0) ::_exit(125);  // netd in the wrong namespace must not go on
  return made;
}

// Its lease becomes the container's (docs/networking.md, "Prepared namespaces"); the same
// checks as a fresh attach: a valid id, not attached already (a dead holder's collected
// first), a previous network of that id gone.
void take_over(AttachedNetwork& attached, const AttachOrder& order, Nftables& nft, LeaseStore& store) {
  if (auto problem = check_network_id(order.id)) throw Error("container id " + order.id, *problem);
  wait_for_releasing_owner(store, order.id, 5000);
  NetworkRequest request = order.request;  // its host ports 0 become the ones held
  // What the standby did not prepare: the order's published ports (held from now on: no
  // host program takes them), its egress policy (rules and names). The lease names them
  // before the rules exist, so a teardown from here on removes them.
  const Lease prepared = attached.lease;
  const bool own_rules = request.enforces_policy() || !request.publish.empty();
  if (own_rules) {
    try {
      attached.held_ports = hold_published_ports(request.publish);
    } catch (const Error&) {
      forget_refused_log(store, order.id);
      throw;
    }
    attached.lease.publish = request.publish;
    attached.lease.policy = request.enforces_policy();
  }
  {
    // The check and the hand-over in one hold of the lock, as allocate makes them: two
    // starts of one id never both hold a lease.
    LeaseStore::Lock lock(store);
    if (store.find(order.id)) {
      collect_stale_leases(store, nft);
      if (store.find(order.id)) throw Error("network of " + order.id, "already attached");
    }
    // A start of another configuration may have rebuilt the bridge since this standby was
    // prepared (it does once no container uses the old one): never handed out then.
    if (!base_is(store, request)) {
      throw Error("bridge " + request.bridge, "its configuration changed while this start was prepared; start it again");
    }
    check_ports_unpublished(store, request.publish, order.id);
    store.hand_over(lock, attached.lease, order.id);
  }
  if (own_rules) {
    nft.run(ruleset::container_rules_replacing(prepared, attached.lease, request), "apply the network policy of " + order.id);
    if (request.enforces_policy()) attached.forwarder->set_policy(dns::NamePolicy(request.egress));
  }
  // The host's resolvers as they are now, or the container's own.
  attached.forwarder->set_upstreams(request.resolvers.empty() ? read_resolvers() : request.resolvers);
}

// A standby (docs/networking.md, "Prepared namespaces"): at idle CPU priority, a namespace
// with eth0 on the bridge, a lease, the rules without a policy and the forwarder's sockets;
// then its namespace to the server, and a wait for the container it is handed (or the
// server's end: everything made goes).
int stand_by(int server_fd, const std::string& state_dir, const NetworkRequest& request) {
  sigset_t stops = block_stops();
  // The attach's numbers (3 order, 4 control) are held by /dev/null until a container comes:
  // what the standby opens meanwhile (the forwarder's sockets, netlink) stays clear of them.
  int server = ::fcntl(server_fd, F_DUPFD_CLOEXEC, 10);
  UniqueFd null = sys::open("/dev/null", O_RDWR | O_CLOEXEC, "open /dev/null");
  if (server < 0 || ::dup2(null.get(), kOrderFd) < 0 || ::dup2(null.get(), kControlFd) < 0) return 125;
  sched_param idle{};
  ::sched_setscheduler(0, SCHED_IDLE, &idle);  // LeaseStore::Lock lifts it while it holds the lock
  Nftables nft;
  asio::io_context io;
  LeaseStore store(state_dir);
  AttachedNetwork attached;
  ino_t prepared = 0;
  try {
    UniqueFd netns = make_network_namespace();
    LeaseOwner self = LeaseOwner::self();
    attached = prepare_network({standby_id(self.pid, self.start_time), state_dir, request}, io, nft, store);
    link_namespace(attached, netns.get(), nft, store);
    struct stat st {};
    ::fstat(netns.get(), &st);
    prepared = st.st_ino;
    sched_param normal{};
    ::sched_setscheduler(0, SCHED_OTHER, &normal);
    int fd = netns.get();
    if (sys::send_with_fds(server, kStandbyReady.data(), kStandbyReady.size(), &fd, 1) != 0) {
      release_network(attached, nft, store);
      return 0;
    }
  } catch (const Error& e) {  // what was made is undone already
    std::cerr << "nucleus-netd standby: " << e.what() << "\n";
    return e.exit_code();
  }
  try {
    // Said after the server has it queued: whoever reads this lease and then starts a
    // container finds the server knowing this standby ready.
    attached.lease.standby_ready = true;
    store.update(attached.lease);
  } catch (const Error& e) {
    std::cerr << "nucleus-netd standby: " << e.what() << "\n";
    release_network(attached, nft, store);
    return e.exit_code();  // our socket closes: the server drops this standby
  }
  char word[16];
  int fds[3];
  size_t count = 0;
  ssize_t n = sys::recv_with_fds(server, word, sizeof word, fds, 3, &count);
  if (n != static_cast<ssize_t>(kServerAttach.size()) || kServerAttach != std::string_view(word, static_cast<size_t>(n)) || count != 3) {
    for (size_t i = 0; i < count; ++i) ::close(fds[i]);
    release_network(attached, nft, store);  // the server left
    return 0;
  }
  if (::dup2(fds[0], 2) < 0 || ::dup2(fds[1], kOrderFd) < 0 || ::dup2(fds[2], kControlFd) < 0) ::_exit(125);
  for (int fd : {fds[0], fds[1], fds[2], server}) ::close(fd);
  try {
    take_over(attached, order_from_json(read_order()), nft, store);
  } catch (const Error& e) {
    release_network(attached, nft, store);
    send_control(report_error(e));
    return e.exit_code();
  }
  return keep_attached(io, attached, nft, store, stops, prepared);
}

std::string option(std::vector<std::string>& args, const std::string& name, const std::string& fallback) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) {
      std::string value = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return value;
    }
  }
  return fallback;
}

int run(std::vector<std::string> args) {
  if (args.empty()) throw Error("nucleus-netd", "usage: nucleus-netd attach|cleanup|collect ...");
  std::string verb = args[0];
  args.erase(args.begin());
  if (verb == "attach") return attach();
  std::string state_dir = option(args, "--state-dir", "/run/nucleus/network");
  if (verb == "serve") {
    std::string tag = option(args, "--tag", "");
    ServeOptions serve_options{.idle_ms = std::stoi(option(args, "--idle-ms", std::to_string(kServerIdleMs))),
                               .pool = std::stoul(option(args, "--pool", std::to_string(kDefaultPool))),
                               .attach = attach,
                               .stand_by = stand_by};
    if (tag.empty() || !args.empty()) throw Error("nucleus-netd serve", "usage: serve --state-dir D --tag T [--idle-ms MS] [--pool N]");
    return serve(state_dir, tag, serve_options);
  }
  std::string idle_bridge = option(args, "--remove-idle-bridge", "");
  LeaseStore store(state_dir);
  Nftables nft;
  if (verb == "cleanup" && args.size() == 1) {
    cleanup_container_network(store, nft, args[0]);
    return 0;
  }
  if (verb == "collect" && args.empty()) {
    {
      LeaseStore::Lock lock(store);
      collect_stale_leases(store, nft);
    }
    if (!idle_bridge.empty()) remove_idle_bridge(store, nft, idle_bridge);
    return 0;
  }
  throw Error("nucleus-netd " + verb, "unknown command or arguments");
}

}  // namespace
}  // namespace nucleus::net

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return nucleus::net::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const nucleus::Error& e) {
    std::cerr << "nucleus-netd: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "nucleus-netd: " << e.what() << "\n";
    return nucleus::exit_code::kRuntimeError;
  }
}
