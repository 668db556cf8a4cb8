// nucleus-netd: the process that keeps one container's network (docs/networking.md,
// "Processes"). nucleus is a static binary and Debian ships libnftables only as a shared
// library, and the DNS forwarder must run beside the container anyway: so the netlink,
// nftables and DNS work live here, in a dynamically linked helper nucleus starts.
//
//   nucleus-netd attach                      fds 2-4 as in network/protocol.h
//   nucleus-netd serve --state-dir D --tag T [--idle-ms MS] [--pool N] [--recycle 0|1]
//                                            the resident server (daemon/server.h), whose
//                                            children run `attach` for each connection
//   nucleus-netd cleanup --state-dir D ID    what `cleanup_container_network` runs
//   nucleus-netd collect --state-dir D [--remove-idle-bridge NAME]
#include <fcntl.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/sys/error.h"
#include "core/sys/exit_codes.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "network/daemon/attach.h"
#include "network/daemon/keeper.h"
#include "network/daemon/standby.h"
#include "network/daemon/server.h"
#include "network/daemon/teardown.h"
#include "network/protocol.h"

namespace nucleus::net {
namespace {
namespace asio = boost::asio;

// How long the resident server stays without a container to serve: long enough for a
// host starting containers now and then to keep it, short enough not to linger.
constexpr int kServerIdleMs = 60000;
// Standbys kept ready: two, so that back-to-back starts find one while the last is refilled.
constexpr size_t kDefaultPool = 2;

// A container's netd forked for its connection (or started by nucleus itself): prepares the
// order's network while nucleus makes the container, then keeps it (network/daemon/keeper.h).
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
                               .stand_by = stand_by,
                               .recycle = option(args, "--recycle", "1") != "0"};
    if (tag.empty() || !args.empty()) throw Error("nucleus-netd serve", "usage: serve --state-dir D --tag T [--idle-ms MS] [--pool N] [--recycle 0|1]");
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
