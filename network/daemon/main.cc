// nucleus-netd: the process that keeps one container's network (docs/networking.md,
// "Processes"). nucleus is a static binary and Debian ships libnftables only as a shared
// library, and the DNS forwarder must run beside the container anyway: so the netlink,
// nftables and DNS work live here, in a dynamically linked helper nucleus starts.
//
//   nucleus-netd attach                      fds 2-4 as in network/protocol.h
//   nucleus-netd serve --state-dir D --tag T [--idle-ms MS]
//                                            the resident server (daemon/server.h), whose
//                                            children run `attach` for each connection
//   nucleus-netd cleanup --state-dir D ID    what `cleanup_container_network` runs
//   nucleus-netd collect --state-dir D [--remove-idle-bridge NAME]
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <iostream>
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
#include "network/protocol.h"

namespace nucleus::net {
namespace {
namespace asio = boost::asio;

// How long the resident server stays without a container to serve: long enough for a
// host starting containers now and then to keep it, short enough not to linger.
constexpr int kServerIdleMs = 60000;

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
      if (!ec) stop(false);
    });
    watch_control();
    if (container_pidfd) {
      container_ = std::make_unique<asio::posix::stream_descriptor>(io, container_pidfd.release());
      container_->async_wait(asio::posix::stream_descriptor::wait_read, [this](auto ec) {
        if (!ec) stop(false);
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
      if (command == kCommandRelease) return stop(true);
      if (command == kCommandDetach) {
        detached_ = true;
        return watch_control();
      }
      if (n <= 0 && detached_) return;  // nucleus left; the container's end stops us
      if (n <= 0) return stop(false);   // nucleus died without releasing: fail closed, tear down
      watch_control();
    });
  }

  void stop(bool answer) {
    if (stopping_) return;
    stopping_ = true;
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

int attach() {
  // A stop asked for during the attach is taken once the Keeper listens: nothing half made
  // is left behind by a signal's default action.
  sigset_t stops;
  sigemptyset(&stops);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stops, sig);
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);
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
  ContainerFds container = receive_namespace();
  if (!container.netns) {  // the container was never made: what was prepared goes
    release_network(attached, nft, *store);
    return 0;
  }
  try {
    enter_namespace(attached, container.netns.get(), nft, *store);
  } catch (const Error& e) {
    send_control(report_error(e));
    return e.exit_code();
  }
  container.netns.reset();  // the container's namespace is not ours to keep alive
  Keeper keeper(io, attached, nft, *store, std::move(container.pidfd));
  ::sigprocmask(SIG_UNBLOCK, &stops, nullptr);
  send_control(report_ok(attached.lease));
  io.run();
  return 0;
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
    int idle_ms = std::stoi(option(args, "--idle-ms", std::to_string(kServerIdleMs)));
    if (tag.empty() || !args.empty()) throw Error("nucleus-netd serve", "usage: serve --state-dir D --tag T [--idle-ms MS]");
    return serve(state_dir, tag, idle_ms, attach);
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
